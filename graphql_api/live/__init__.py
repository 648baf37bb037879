"""Live updates: subscriptions fed by PostgreSQL LISTEN/NOTIFY (DESIGN section 5).

- `changes`: what a notification says, and which markets changed (pure);
- `hub`: the process's subscribers, with bounded queues, and the fan-out to them;
- `listener`: the process's one listening connection, which reads what changed once per
  notification and hands it to the hub; it keeps the data version;
- `service`: `LiveUpdates`, what one process holds (``app.state.live``), and the limits;
- `subscription`: the GraphQL `Subscription` root;
- `shared_events`: identical subscriptions execute each event once;
- `websocket`: graphql-transport-ws with a keep-alive ping, the limits and the token rules;
- `metrics`: the ``mm_live_*`` figures of /metrics.
"""
