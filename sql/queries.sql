-- Named statements. Each starts with a `-- name: x --` header and a one-line description;
-- parameters are named (%(param)s). Loaded once by sql/__init__.py.

-- name: ensure_tick_partitions --
-- Create the market_ticks day partitions from first_day for the given number of days.
SELECT ensure_market_ticks_partitions(%(first_day)s::date, %(days)s) AS created

-- name: exchange_by_name --
-- One exchange row by its ccxt id.
SELECT * FROM exchanges WHERE name = %(name)s

-- name: list_exchanges --
-- Every exchange, by name.
SELECT * FROM exchanges ORDER BY name

-- name: insert_exchange --
-- Add an exchange; fails on a duplicate name.
INSERT INTO exchanges (name, enabled, api_url, interval_seconds, url, logo)
VALUES (%(name)s, %(enabled)s, %(api_url)s, %(interval_seconds)s, %(url)s, %(logo)s)
RETURNING *

-- name: delete_exchange --
-- Remove an exchange with its markets, runs and history (ON DELETE CASCADE).
DELETE FROM exchanges WHERE name = %(name)s RETURNING id

-- name: register_node --
-- A harvester node announces itself at start.
INSERT INTO harvester_nodes (id, host, pid, pool_size)
VALUES (%(id)s, %(host)s, %(pid)s, %(pool_size)s)

-- name: node_heartbeat --
-- The node's parent beats with the state of its children.
UPDATE harvester_nodes SET heartbeat_at = now(), processes = %(processes)s
WHERE id = %(id)s

-- name: node_stopped --
-- The node left cleanly.
UPDATE harvester_nodes SET stopped_at = now(), heartbeat_at = now(), processes = '[]'
WHERE id = %(id)s
