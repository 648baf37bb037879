"""Live updates: subscriptions fed by PostgreSQL LISTEN/NOTIFY (DESIGN section 5).

- `changes`: what a notification says, and which markets changed (pure);
- `hub`: the process's subscribers, with bounded queues, and the fan-out to them;
- `listener`: the process's one listening connection, which reads what changed once per
  notification and hands it to the hub; it keeps the data version;
- `subscription`: the GraphQL `Subscription` root;
- `websocket`: graphql-transport-ws with a keep-alive ping, the limits and the token rules.
"""
