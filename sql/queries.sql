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
-- Add an exchange (the CLI, createExchange); a duplicate name raises a unique violation.
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
-- The node's parent beats with its children's state; a node taken for gone is back.
UPDATE harvester_nodes SET heartbeat_at = now(), processes = %(processes)s, stopped_at = NULL
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

-- name: heartbeat_runs --
-- A worker's RUNNING runs among run_ids are alive; the state of each (gone: not listed).
WITH beaten AS (
    UPDATE harvest_runs SET heartbeat_at = now()
    WHERE id = ANY(%(run_ids)s) AND state = 'RUNNING'
    RETURNING id
)
SELECT id, state FROM harvest_runs WHERE id = ANY(%(run_ids)s)

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

-- name: schedule_candidates --
-- Every exchange with whether it has an active run and when its newest run finished.
SELECT e.id, e.enabled, e.interval_seconds,
       EXISTS (SELECT 1 FROM harvest_runs a
               WHERE a.exchange_id = e.id AND a.state IN ('QUEUED', 'RUNNING')) AS active_run,
       (SELECT max(f.finished_at) FROM harvest_runs f
        WHERE f.exchange_id = e.id AND f.finished_at IS NOT NULL) AS last_finished_at
FROM exchanges e
WHERE e.enabled

-- name: enqueue_scheduled --
-- Queue a SCHEDULE run for each exchange id given, skipping any that has one active.
INSERT INTO harvest_runs (exchange_id, trigger)
SELECT id, 'SCHEDULE' FROM unnest(%(exchange_ids)s::bigint[]) AS id
ON CONFLICT DO NOTHING
RETURNING id, exchange_id

-- name: claim_run --
-- A worker takes the oldest due QUEUED run, unless its node is paused or draining.
UPDATE harvest_runs r
SET state = 'RUNNING', started_at = now(), heartbeat_at = now(), node = %(node)s,
    worker = %(worker)s
WHERE r.id = (
    SELECT q.id FROM harvest_runs q
    WHERE q.state = 'QUEUED' AND q.not_before <= now()
      AND NOT EXISTS (SELECT 1 FROM harvester_nodes n
                      WHERE n.id = %(node)s AND (n.paused OR n.draining))
    ORDER BY q.not_before, q.id
    FOR UPDATE SKIP LOCKED
    LIMIT 1
)
RETURNING r.*

-- name: crash_stale_runs --
-- RUNNING runs without a heartbeat for stale_after seconds, or past run_timeout, crash.
UPDATE harvest_runs
SET state = 'CRASHED', finished_at = now(),
    error = CASE WHEN started_at < now() - make_interval(secs => %(run_timeout)s)
                 THEN format('timed out: still running after %%s s (node %%s, %%s)',
                             %(run_timeout)s, node, worker)
                 ELSE format('no heartbeat for %%s s (node %%s, %%s)',
                             %(stale_after)s, node, worker) END
WHERE state = 'RUNNING'
  AND (heartbeat_at < now() - make_interval(secs => %(stale_after)s)
       OR started_at < now() - make_interval(secs => %(run_timeout)s))
RETURNING id, exchange_id, node, worker, error

-- name: retry_candidates --
-- The newest run of each enabled exchange, when it FAILED or CRASHED and is not retried yet.
SELECT r.id, r.exchange_id, r.state, r.attempt, r.retryable, r.finished_at
FROM exchanges e
JOIN LATERAL (SELECT * FROM harvest_runs n WHERE n.exchange_id = e.id
              ORDER BY n.id DESC LIMIT 1) r ON true
WHERE e.enabled AND r.state IN ('FAILED', 'CRASHED')
  AND NOT EXISTS (SELECT 1 FROM harvest_runs x WHERE x.retry_of = r.id)

-- name: enqueue_retry --
-- Queue a RETRY run after a backoff; nothing when one exists or the exchange is busy.
INSERT INTO harvest_runs (exchange_id, trigger, attempt, retry_of, not_before)
VALUES (%(exchange_id)s, 'RETRY', %(attempt)s, %(retry_of)s, %(not_before)s)
ON CONFLICT DO NOTHING
RETURNING id

-- name: mark_gone_nodes --
-- Nodes that stopped beating are gone.
UPDATE harvester_nodes SET stopped_at = now()
WHERE stopped_at IS NULL AND heartbeat_at < now() - make_interval(secs => %(stale_after)s)
RETURNING id

-- name: crash_runs_of_gone_nodes --
-- The RUNNING runs of gone nodes crash at once (their heartbeat may not be late yet).
UPDATE harvest_runs r
SET state = 'CRASHED', finished_at = now(), error = format('node %%s is gone', r.node)
FROM harvester_nodes n
WHERE r.state = 'RUNNING' AND r.node = n.id AND n.stopped_at IS NOT NULL
RETURNING r.id, r.exchange_id, r.node

-- name: requeue_node_runs --
-- On shutdown, the runs a node could not finish go back to the queue (attempt unchanged).
UPDATE harvest_runs
SET state = 'QUEUED', node = NULL, worker = NULL, started_at = NULL, heartbeat_at = NULL,
    not_before = now()
WHERE node = %(node)s AND state = 'RUNNING'
RETURNING id, exchange_id

-- name: tick_partitions --
-- The existing day partitions of market_ticks.
SELECT c.relname AS name
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'market_ticks'::regclass

-- name: node_state --
-- This node's pause and drain flags.
SELECT paused, draining, pool_size, processes, started_at, heartbeat_at, host, pid
FROM harvester_nodes WHERE id = %(node)s

-- name: set_node_paused --
-- Pause or resume claiming runs on a node.
UPDATE harvester_nodes SET paused = %(paused)s WHERE id = %(node)s RETURNING paused

-- name: set_node_draining --
-- Drain a node: it claims nothing more and stops once its runs are done.
UPDATE harvester_nodes SET draining = true WHERE id = %(node)s RETURNING draining

-- name: queue_depth --
-- How many runs wait, and how many of them are due now.
SELECT count(*) AS queued, count(*) FILTER (WHERE not_before <= now()) AS due
FROM harvest_runs WHERE state = 'QUEUED'

-- name: running_runs --
-- RUNNING runs with their exchange, newest first.
SELECT r.id, e.name AS exchange, r.node, r.worker, r.started_at, r.heartbeat_at, r.attempt
FROM harvest_runs r JOIN exchanges e ON e.id = r.exchange_id
WHERE r.state = 'RUNNING' ORDER BY r.id DESC

-- name: active_run_of_exchange --
-- The QUEUED or RUNNING run of an exchange, if any.
SELECT r.* FROM harvest_runs r
WHERE r.exchange_id = %(exchange_id)s AND r.state IN ('QUEUED', 'RUNNING')

-- name: exchange_by_id --
-- One exchange row by id.
SELECT * FROM exchanges WHERE id = %(id)s

-- name: node_runs_running --
-- How many runs a node has RUNNING.
SELECT count(*) AS running FROM harvest_runs WHERE node = %(node)s AND state = 'RUNNING'

-- name: exchange_table --
-- Every exchange with its active market count and the state of its newest run.
SELECT e.*,
       (SELECT count(*) FROM markets AS m WHERE m.exchange_id = e.id AND m.active) AS markets,
       (SELECT r.state FROM harvest_runs AS r WHERE r.exchange_id = e.id
        ORDER BY r.id DESC LIMIT 1) AS last_run
FROM exchanges AS e
ORDER BY e.name

-- name: api_exchanges_by_id --
-- The exchanges with the given ids (the API's DataLoader).
SELECT * FROM exchanges WHERE id = ANY(%(ids)s::bigint[])

-- name: api_exchanges_by_name --
-- The exchanges with the given names (the API's DataLoader).
SELECT * FROM exchanges WHERE name = ANY(%(names)s::text[])

-- name: api_exchange_run_summaries --
-- For each exchange id: its newest run and its newest finished run, with the database clock.
SELECT x.id AS for_exchange, s.role, s.run_id, s.state, s.started_at, s.heartbeat_at,
       s.finished_at, s.error, now() AS db_now
FROM unnest(%(ids)s::bigint[]) AS x (id)
CROSS JOIN LATERAL (
    (SELECT 'newest' AS role, r.id AS run_id, r.state, r.started_at, r.heartbeat_at,
            r.finished_at, r.error
     FROM harvest_runs AS r WHERE r.exchange_id = x.id ORDER BY r.id DESC LIMIT 1)
    UNION ALL
    (SELECT 'finished', r.id, r.state, r.started_at, r.heartbeat_at, r.finished_at, r.error
     FROM harvest_runs AS r WHERE r.exchange_id = x.id AND r.finished_at IS NOT NULL
     ORDER BY r.id DESC LIMIT 1)
) AS s

-- name: api_market_by_symbol --
-- One market of an exchange by symbol.
SELECT m.* FROM markets AS m JOIN exchanges AS e ON e.id = m.exchange_id
WHERE e.name = %(exchange)s AND m.symbol = %(symbol)s

-- name: api_update_exchange --
-- updateExchange: each column changes only when its set_* flag is true.
UPDATE exchanges SET
    enabled = CASE WHEN %(set_enabled)s THEN %(enabled)s ELSE enabled END,
    api_url = CASE WHEN %(set_api_url)s THEN %(api_url)s ELSE api_url END,
    url = CASE WHEN %(set_url)s THEN %(url)s ELSE url END,
    logo = CASE WHEN %(set_logo)s THEN %(logo)s ELSE logo END,
    interval_seconds = CASE WHEN %(set_interval_seconds)s THEN %(interval_seconds)s
                            ELSE interval_seconds END,
    updated_at = now()
WHERE name = %(name)s
RETURNING *

-- name: api_delete_exchange --
-- deleteExchange: markets, runs and history go with it (ON DELETE CASCADE).
DELETE FROM exchanges WHERE name = %(name)s RETURNING id

-- name: api_run_exchange --
-- runExchange: queue a MANUAL run, or return the exchange's QUEUED/RUNNING one.
-- No row when a concurrent insert committed after this statement's snapshot: run it again.
WITH inserted AS (
    INSERT INTO harvest_runs (exchange_id, trigger) VALUES (%(exchange_id)s, 'MANUAL')
    ON CONFLICT (exchange_id) WHERE state IN ('QUEUED', 'RUNNING') DO NOTHING
    RETURNING *
)
SELECT * FROM inserted
UNION ALL
SELECT r.* FROM harvest_runs AS r
WHERE r.exchange_id = %(exchange_id)s AND r.state IN ('QUEUED', 'RUNNING')
  AND NOT EXISTS (SELECT 1 FROM inserted)

-- name: api_token_lookup --
-- The live token with this SHA-256, marking it used (at most once a minute).
WITH found AS (
    SELECT id, name, scopes, last_used_at FROM api_tokens
    WHERE token_sha256 = %(sha256)s AND revoked_at IS NULL
), touched AS (
    UPDATE api_tokens AS t SET last_used_at = now() FROM found
    WHERE t.id = found.id
      AND (found.last_used_at IS NULL OR found.last_used_at < now() - interval '1 minute')
)
SELECT id, name, scopes FROM found

-- name: api_nodes --
-- Every harvester node, with whether it is alive (recent heartbeat, not stopped).
SELECT n.*, (n.stopped_at IS NULL
             AND n.heartbeat_at >= now() - make_interval(secs => %(stale_after)s)) AS alive
FROM harvester_nodes AS n ORDER BY n.started_at DESC, n.id

-- name: api_active_runs --
-- RUNNING runs, newest first, with whether their heartbeat is late.
SELECT r.*, (r.heartbeat_at < now() - make_interval(secs => %(stale_after)s)) AS stale
FROM harvest_runs AS r WHERE r.state = 'RUNNING' ORDER BY r.id DESC

-- name: api_runs_by_state --
-- How many runs are in each state (for /metrics).
SELECT state, count(*) AS runs FROM harvest_runs GROUP BY state

-- name: api_last_success_ages --
-- Seconds since the last successful harvest of each exchange that had one (for /metrics).
SELECT name, extract(epoch FROM now() - last_update_at)::float8 AS age_seconds
FROM exchanges WHERE last_update_at IS NOT NULL

-- name: token_insert --
-- `marketmanager token create`: store a token's SHA-256, never the token.
INSERT INTO api_tokens (name, token_sha256, scopes) VALUES (%(name)s, %(sha256)s, %(scopes)s)
RETURNING id, name, scopes, created_at

-- name: token_list --
-- `marketmanager token list`: every token, live ones first.
SELECT id, name, scopes, created_at, last_used_at, revoked_at FROM api_tokens
ORDER BY revoked_at IS NOT NULL, id

-- name: token_revoke --
-- `marketmanager token revoke`: revoke the live token with this id or name.
UPDATE api_tokens SET revoked_at = now()
WHERE revoked_at IS NULL AND (id = %(id)s OR name = %(name)s)
RETURNING id, name

-- name: live_latest_version --
-- The newest data version (live_changes), where a starting listener begins.
SELECT coalesce(max(version), 0) AS version FROM live_changes

-- name: live_changes_since --
-- The run state changes after a data version, oldest first (a reconnected listener's re-read).
SELECT version, run_id, exchange_id, state FROM live_changes
WHERE version > %(after)s ORDER BY version

-- name: live_runs_by_id --
-- The runs of a batch of live changes.
SELECT * FROM harvest_runs WHERE id = ANY(%(ids)s::bigint[])

-- name: live_markets_of_last_harvest --
-- The markets that the last successful harvest of each given exchange wrote.
SELECT m.* FROM markets AS m JOIN exchanges AS e ON e.id = m.exchange_id
WHERE m.exchange_id = ANY(%(exchange_ids)s::bigint[]) AND m.updated_at = e.last_update_at

-- name: api_market_history --
-- Market.history: one market's ticks in [from, to) bucketed by date_bin from `from`.
SELECT date_bin(make_interval(secs => %(every)s), ts, %(from)s) AS time,
       (array_agg(last ORDER BY ts) FILTER (WHERE last IS NOT NULL))[1] AS open,
       max(last) AS high, min(last) AS low,
       (array_agg(last ORDER BY ts DESC) FILTER (WHERE last IS NOT NULL))[1] AS close,
       avg(bid) AS bid, avg(ask) AS ask,
       (array_agg(base_volume ORDER BY ts DESC))[1] AS base_volume,
       (array_agg(quote_volume ORDER BY ts DESC))[1] AS quote_volume,
       count(*) AS ticks
FROM market_ticks
WHERE market_id = %(market_id)s AND ts >= %(from)s AND ts < %(to)s
GROUP BY 1 ORDER BY 1

-- name: api_asset_markets --
-- Query.asset: the active markets of one pair on enabled exchanges, with the exchange's name.
SELECT m.*, e.name AS exchange_name
FROM markets AS m JOIN exchanges AS e ON e.id = m.exchange_id
WHERE m.symbol = %(symbol)s AND m.active AND e.enabled
ORDER BY e.name

-- name: api_pair_lasts --
-- The last prices of the given symbols on every enabled exchange (Market.anomalous).
SELECT m.symbol, m.exchange_id, m.last
FROM markets AS m JOIN exchanges AS e ON e.id = m.exchange_id
WHERE m.symbol = ANY(%(symbols)s::text[]) AND m.active AND e.enabled AND m.last > 0
