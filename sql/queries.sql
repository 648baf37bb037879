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

-- name: insert_run --
-- Record a run of an exchange, QUEUED or already RUNNING; fails while another is active.
INSERT INTO harvest_runs (exchange_id, state, trigger, attempt, retry_of, node, worker,
                          started_at, heartbeat_at)
VALUES (%(exchange_id)s, %(state)s::text, %(trigger)s, %(attempt)s, %(retry_of)s, %(node)s,
        %(worker)s, CASE WHEN %(state)s::text = 'RUNNING' THEN now() END,
        CASE WHEN %(state)s::text = 'RUNNING' THEN now() END)
RETURNING *

-- name: run_by_id --
-- One run row.
SELECT * FROM harvest_runs WHERE id = %(run_id)s

-- name: start_run --
-- A QUEUED run starts on a node's worker; no row when it is not QUEUED any more.
UPDATE harvest_runs
SET state = 'RUNNING', started_at = now(), heartbeat_at = now(), node = %(node)s,
    worker = %(worker)s
WHERE id = %(run_id)s AND state = 'QUEUED'
RETURNING *

-- name: heartbeat_run --
-- A RUNNING run is still being worked on.
UPDATE harvest_runs SET heartbeat_at = now() WHERE id = %(run_id)s AND state = 'RUNNING'

-- name: finish_run_succeeded --
-- A RUNNING run wrote its markets; no row when it is not RUNNING any more (e.g. CRASHED).
UPDATE harvest_runs
SET state = 'SUCCEEDED', finished_at = clock_timestamp(), heartbeat_at = clock_timestamp(),
    markets_count = %(markets_count)s, error = NULL, retryable = NULL
WHERE id = %(run_id)s AND state = 'RUNNING'
RETURNING id

-- name: finish_run_failed --
-- A QUEUED or RUNNING run failed; its error is one readable line.
UPDATE harvest_runs
SET state = 'FAILED', finished_at = clock_timestamp(), error = %(error)s,
    retryable = %(retryable)s
WHERE id = %(run_id)s AND state IN ('QUEUED', 'RUNNING')
RETURNING id

-- name: harvest_create_staging --
-- The temporary table a run's tickers are copied into; dropped when the run commits.
CREATE TEMPORARY TABLE harvest_staging (
    symbol       text NOT NULL,
    base         text NOT NULL,
    quote        text NOT NULL,
    type         text NOT NULL,
    active       boolean NOT NULL,
    last         numeric,
    bid          numeric,
    ask          numeric,
    base_volume  numeric,
    quote_volume numeric,
    volume_usd   numeric,
    change_pct   numeric,
    exchange_ts  timestamptz
) ON COMMIT DROP

-- name: harvest_copy_staging --
-- COPY statement (binary) filling harvest_staging, columns in MarketRow order.
COPY harvest_staging (symbol, base, quote, type, active, last, bid, ask, base_volume,
                      quote_volume, volume_usd, change_pct, exchange_ts)
FROM STDIN (FORMAT BINARY)

-- name: harvest_upsert_markets --
-- Upsert the staged markets of an exchange and append one history tick per market.
WITH upserted AS (
    INSERT INTO markets AS m (exchange_id, symbol, base, quote, type, active, last, bid, ask,
                              base_volume, quote_volume, volume_usd, change_pct, exchange_ts,
                              updated_at)
    SELECT %(exchange_id)s, symbol, base, quote, type, active, last, bid, ask, base_volume,
           quote_volume, volume_usd, change_pct, exchange_ts, %(harvested_at)s
    FROM harvest_staging
    ON CONFLICT (exchange_id, symbol) DO UPDATE
    SET base = EXCLUDED.base, quote = EXCLUDED.quote, type = EXCLUDED.type,
        active = EXCLUDED.active, last = EXCLUDED.last, bid = EXCLUDED.bid,
        ask = EXCLUDED.ask, base_volume = EXCLUDED.base_volume,
        quote_volume = EXCLUDED.quote_volume, volume_usd = EXCLUDED.volume_usd,
        change_pct = EXCLUDED.change_pct, exchange_ts = EXCLUDED.exchange_ts,
        updated_at = EXCLUDED.updated_at
    RETURNING m.id, m.last, m.bid, m.ask, m.base_volume, m.quote_volume
)
INSERT INTO market_ticks (market_id, ts, last, bid, ask, base_volume, quote_volume)
SELECT id, %(harvested_at)s, last, bid, ask, base_volume, quote_volume FROM upserted

-- name: harvest_deactivate_missing --
-- Markets of the exchange that this run did not see are no longer listed: inactive, kept.
UPDATE markets AS m SET active = false, updated_at = %(harvested_at)s
WHERE m.exchange_id = %(exchange_id)s AND m.active
  AND NOT EXISTS (SELECT 1 FROM harvest_staging AS s WHERE s.symbol = m.symbol)

-- name: harvest_update_exchange --
-- An exchange's aggregates after a successful run.
UPDATE exchanges
SET volume_usd = %(volume_usd)s, top_pair = %(top_pair)s,
    top_pair_volume_usd = %(top_pair_volume_usd)s, unpriced_markets = %(unpriced_markets)s,
    last_update_at = %(harvested_at)s
WHERE id = %(exchange_id)s
