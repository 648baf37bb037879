"""Paginated listings: keyset orderings and opaque cursors (`cursors`), the SQL of a
page (`listings`), and connection arguments to a page and back (`pages`). The GraphQL
types of a page are in `graphql_api.types.connection`."""
