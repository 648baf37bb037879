-- Named statements. Each starts with a `-- name: x --` header and a one-line description;
-- parameters are named (%(param)s); identifiers and composed fragments in braces
-- ({partition}, {where}) are filled in with psycopg.sql by the caller (sql.compose).
-- Loaded once by sql/__init__.py; every one is prepared against the migrated schema by
-- tests/integration/test_queries_prepare.py.

-- name: migrations_lock --
-- Only one process applies migrations at a time (a session advisory lock).
SELECT pg_advisory_lock(%(key)s)

-- name: migrations_unlock --
-- Release the migrations lock.
SELECT pg_advisory_unlock(%(key)s)

-- name: migrations_create_history --
-- The table that records the applied migrations, made before the first one.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)

-- name: migrations_history_exists --
-- Whether the migrations history table exists yet.
SELECT to_regclass('schema_migrations') IS NOT NULL AS exists

-- name: migrations_history --
-- The applied migrations, in order.
SELECT version, name, checksum FROM schema_migrations ORDER BY version

-- name: migrations_record --
-- Record a migration as applied (in the same transaction as its statements).
INSERT INTO schema_migrations (version, name, checksum)
VALUES (%(version)s, %(name)s, %(checksum)s)

-- name: migrated_version --
-- The newest applied migration's version (the API's readiness check).
SELECT coalesce(max(version), 0) AS version FROM schema_migrations

-- name: create_database --
-- A new, empty database (tests and benchmarks: marketmanager.db.scratch_database).
CREATE DATABASE {database}

-- name: create_database_from_template --
-- A new database, a copy of {template} (tests: one migrated template, a copy per test).
CREATE DATABASE {database} TEMPLATE {template}

-- name: drop_database --
-- Drop a scratch database, open connections or not.
DROP DATABASE IF EXISTS {database} WITH (FORCE)

-- name: scheduler_try_lead --
-- Take the scheduler's lead if no other scheduler holds it (a session advisory lock).
SELECT pg_try_advisory_lock(%(key)s) AS ok

-- name: drop_tick_partition --
-- Drop one market_ticks day partition past retention.
DROP TABLE IF EXISTS {partition}

-- name: announce_edit --
-- Announce on mm_live that a table changed where no trigger sees it (a dropped partition).
SELECT pg_notify('mm_live', json_build_object('edited', %(table)s::text)::text)

-- name: ensure_tick_partitions --
-- Create the market_ticks day partitions from first_day for the given number of days.
SELECT ensure_market_ticks_partitions(%(first_day)s::date, %(days)s) AS created

-- name: exchange_by_name --
-- One exchange row by its ccxt id.
SELECT * FROM exchanges WHERE name = %(name)s

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
-- A run's staging table: the staged columns of markets, no constraints; dropped at commit.
CREATE TEMPORARY TABLE harvest_staging ON COMMIT DROP AS
SELECT {columns} FROM markets WITH NO DATA

-- name: harvest_copy_staging --
-- COPY statement (binary) filling harvest_staging.
COPY harvest_staging ({columns}) FROM STDIN (FORMAT BINARY)

-- name: harvest_upsert_markets --
-- Upsert the staged markets of an exchange and append one history tick per market.
-- Markets already listed are updated through a join (an ON CONFLICT update would probe the
-- unique index and lock each row first: a quarter of the server CPU of the update); only
-- the new ones go through ON CONFLICT, which also covers one listed meanwhile by another
-- transaction (the candle lane lists markets it backfills).
WITH updated AS (
    UPDATE markets AS m SET {updates_from_staging}, updated_at = %(harvested_at)s
    FROM harvest_staging AS s
    WHERE m.exchange_id = %(exchange_id)s AND m.symbol = s.symbol
    RETURNING m.id, m.symbol, m.last, m.bid, m.ask, m.base_volume, m.quote_volume
), inserted AS (
    INSERT INTO markets AS m (exchange_id, {columns}, updated_at)
    SELECT %(exchange_id)s, {columns}, %(harvested_at)s FROM harvest_staging AS s
    WHERE NOT EXISTS (SELECT 1 FROM updated AS u WHERE u.symbol = s.symbol)
    ON CONFLICT (exchange_id, symbol) DO UPDATE
    SET {updates}, updated_at = EXCLUDED.updated_at
    RETURNING m.id, m.last, m.bid, m.ask, m.base_volume, m.quote_volume
)
INSERT INTO market_ticks (market_id, ts, last, bid, ask, base_volume, quote_volume)
SELECT id, %(harvested_at)s, last, bid, ask, base_volume, quote_volume FROM updated
UNION ALL
SELECT id, %(harvested_at)s, last, bid, ask, base_volume, quote_volume FROM inserted

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
-- A worker takes the oldest due QUEUED run of its home exchanges (id modulo pool size = slot), else the oldest that waited stranger_after s.
UPDATE harvest_runs r
SET state = 'RUNNING', started_at = now(), heartbeat_at = now(), node = %(node)s,
    worker = %(worker)s
WHERE r.id = (
    SELECT q.id FROM harvest_runs q
    WHERE q.state = 'QUEUED' AND q.not_before <= now()
      AND (q.exchange_id %% %(pool_size)s = %(slot)s
           OR q.not_before <= now() - make_interval(secs => %(stranger_after)s))
      AND NOT EXISTS (SELECT 1 FROM harvester_nodes n
                      WHERE n.id = %(node)s AND (n.paused OR n.draining))
    ORDER BY q.exchange_id %% %(pool_size)s = %(slot)s DESC, q.not_before, q.id
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

-- name: enabled_exchange_intervals --
-- The id and interval of every enabled exchange (a worker lets go of the others' markets).
SELECT id, interval_seconds FROM exchanges WHERE enabled

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
    candle_timeframes = CASE WHEN %(set_candle_timeframes)s THEN %(candle_timeframes)s::text[]
                             ELSE candle_timeframes END,
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

-- name: listing_page --
-- A page of a listing: the selected columns and sort keys of the matching rows, in order.
SELECT {columns}, {keys} FROM {source} WHERE {where} ORDER BY {order} LIMIT {limit}

-- name: listing_page_per_parent --
-- One page for each parent id (the markets of many exchanges), its rows with parent_id.
SELECT parent.id AS parent_id, p.*
FROM unnest(%(parent_ids)s::bigint[]) AS parent (id) CROSS JOIN LATERAL ({page}) AS p

-- name: listing_count --
-- The number of rows of a listing matching its filters (totalCount).
SELECT count(*) AS n FROM {source} WHERE {where}

-- name: listing_count_per_parent --
-- The number of rows of a listing for each parent id given (parents without rows absent).
SELECT {parent} AS parent_id, count(*) AS n FROM {source}
WHERE {parent} = ANY(%(parent_ids)s::bigint[]) AND {where}
GROUP BY 1
-- name: ensure_candle_partitions --
-- Create the market_candles month partitions from first_month to last_month.
SELECT ensure_market_candles_partitions(%(first_month)s::date, %(last_month)s::date) AS created

-- name: candle_page_commit_async --
-- A page's transaction need not wait for the WAL flush (a crash loses whole pages: refetched).
SET LOCAL synchronous_commit = off

-- name: candle_create_staging --
-- The temporary table candle pages are copied into (open times in ms), emptied at commit.
CREATE TEMPORARY TABLE IF NOT EXISTS candle_staging (
    ts_ms        bigint NOT NULL,
    open         numeric NOT NULL,
    high         numeric NOT NULL,
    low          numeric NOT NULL,
    close        numeric NOT NULL,
    base_volume  numeric NOT NULL,
    quote_volume numeric
) ON COMMIT DELETE ROWS

-- name: candle_copy_staging --
-- COPY statement (text) filling candle_staging, columns in Candle order.
COPY candle_staging (ts_ms, open, high, low, close, base_volume, quote_volume) FROM STDIN

-- name: candle_upsert --
-- Upsert the staged candles of one market and timeframe; one already right is not touched.
INSERT INTO market_candles AS c (market_id, timeframe, ts, open, high, low, close, base_volume,
                                 quote_volume)
SELECT %(market_id)s, %(timeframe)s, to_timestamp(ts_ms / 1000.0), open, high, low, close,
       base_volume, quote_volume
FROM candle_staging
ON CONFLICT (market_id, timeframe, ts) DO UPDATE
SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
    base_volume = EXCLUDED.base_volume, quote_volume = EXCLUDED.quote_volume
WHERE (c.open, c.high, c.low, c.close, c.base_volume, c.quote_volume)
      IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close,
                        EXCLUDED.base_volume, EXCLUDED.quote_volume)

-- name: candle_extend_coverage --
-- Record [from_ts, to_ts) of a market's timeframe as fetched, widening a range it touches.
WITH widened AS (
    UPDATE candle_coverage
    SET from_ts = least(from_ts, %(from_ts)s), to_ts = greatest(to_ts, %(to_ts)s)
    WHERE ctid = (SELECT ctid FROM candle_coverage
                  WHERE market_id = %(market_id)s AND timeframe = %(timeframe)s
                    AND from_ts <= %(to_ts)s AND to_ts >= %(from_ts)s
                  LIMIT 1)
    RETURNING 1
)
INSERT INTO candle_coverage (market_id, timeframe, from_ts, to_ts)
SELECT %(market_id)s, %(timeframe)s, %(from_ts)s, %(to_ts)s
WHERE NOT EXISTS (SELECT 1 FROM widened)

-- name: candle_coverage_of_markets --
-- The fetched ranges of markets' timeframe that touch [from_ts, to_ts), per market in order.
SELECT market_id, from_ts, to_ts FROM candle_coverage
WHERE market_id = ANY(%(market_ids)s::bigint[]) AND timeframe = %(timeframe)s
  AND from_ts < %(to_ts)s AND to_ts > %(from_ts)s
ORDER BY market_id, from_ts

-- name: candle_times_of_markets --
-- The open times of markets' stored candles of one timeframe in [from_ts, to_ts).
SELECT market_id, ts FROM market_candles
WHERE market_id = ANY(%(market_ids)s::bigint[]) AND timeframe = %(timeframe)s
  AND ts >= %(from_ts)s AND ts < %(to_ts)s
ORDER BY market_id, ts

-- name: candles_of_markets --
-- Markets' stored candles of one timeframe in [from_ts, to_ts), oldest first, at most limit each.
SELECT m.id AS market_id, c.* FROM unnest(%(market_ids)s::bigint[]) AS m (id)
CROSS JOIN LATERAL (
    SELECT ts, open, high, low, close, base_volume, quote_volume FROM market_candles
    WHERE market_id = m.id AND timeframe = %(timeframe)s AND ts >= %(from_ts)s AND ts < %(to_ts)s
    ORDER BY ts
    LIMIT %(limit)s
) AS c
ORDER BY m.id, c.ts

-- name: candles_derived_of_markets --
-- Candles of a coarser timeframe (bucket) made of markets' stored finer ones, oldest first.
SELECT m.id AS market_id, d.* FROM unnest(%(market_ids)s::bigint[]) AS m (id)
CROSS JOIN LATERAL (
    SELECT date_bin(%(bucket)s::interval, ts, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS ts,
           (array_agg(open ORDER BY ts))[1] AS open, max(high) AS high, min(low) AS low,
           (array_agg(close ORDER BY ts DESC))[1] AS close, sum(base_volume) AS base_volume,
           CASE WHEN count(quote_volume) = count(*) THEN sum(quote_volume) END AS quote_volume
    FROM market_candles
    WHERE market_id = m.id AND timeframe = %(timeframe)s
      AND ts >= %(from_ts)s AND ts < %(to_ts)s
    GROUP BY 1
    ORDER BY 1
    LIMIT %(limit)s
) AS d
ORDER BY m.id, d.ts

-- name: candle_timeframes_stored_of_markets --
-- How many candles of each timeframe markets have in [from_ts, to_ts).
SELECT market_id, timeframe, count(*) AS candles FROM market_candles
WHERE market_id = ANY(%(market_ids)s::bigint[]) AND ts >= %(from_ts)s AND ts < %(to_ts)s
GROUP BY market_id, timeframe

-- name: candle_resume_point --
-- Where a market's fetch of a timeframe resumes: the end of the fetched range holding since.
SELECT max(to_ts) AS resume_at FROM candle_coverage
WHERE market_id = %(market_id)s AND timeframe = %(timeframe)s
  AND from_ts <= %(since)s AND to_ts > %(since)s

-- name: market_ids_by_symbol --
-- The ids of an exchange's markets by symbol (those given).
SELECT id, symbol FROM markets
WHERE exchange_id = %(exchange_id)s AND symbol = ANY(%(symbols)s::text[])

-- name: insert_market_stub --
-- A market known from the exchange's listing before any ticker harvest saw it.
INSERT INTO markets (exchange_id, symbol, base, quote, type, active)
VALUES (%(exchange_id)s, %(symbol)s, %(base)s, %(quote)s, %(type)s, true)
ON CONFLICT (exchange_id, symbol) DO UPDATE SET symbol = EXCLUDED.symbol
RETURNING id, symbol

-- name: top_markets --
-- An exchange's active markets with the largest USD volume.
SELECT symbol FROM markets
WHERE exchange_id = %(exchange_id)s AND active AND volume_usd IS NOT NULL
ORDER BY volume_usd DESC, id
LIMIT %(top)s

-- name: queue_backfill --
-- Queue a backfill, or return the same one (exchange, timeframe, symbols) already queued.
WITH queued AS (
    SELECT * FROM candle_backfills
    WHERE exchange_id = %(exchange_id)s AND timeframe = %(timeframe)s
      AND symbols = %(symbols)s::text[] AND state = 'QUEUED'
    ORDER BY id LIMIT 1
), inserted AS (
    INSERT INTO candle_backfills (exchange_id, symbols, top, timeframe, since, trigger)
    SELECT %(exchange_id)s, %(symbols)s::text[], %(top)s, %(timeframe)s, %(since)s, %(trigger)s
    WHERE NOT EXISTS (SELECT 1 FROM queued)
    RETURNING *
)
SELECT * FROM inserted
UNION ALL
SELECT * FROM queued

-- name: backfill_by_id --
-- One backfill job.
SELECT b.*, e.name AS exchange FROM candle_backfills AS b
JOIN exchanges AS e ON e.id = b.exchange_id WHERE b.id = %(id)s

-- name: claim_backfill --
-- The lane takes a job whose lane died, else a keep-current one, else the oldest queued.
UPDATE candle_backfills AS b
SET state = 'RUNNING', started_at = coalesce(b.started_at, now()), heartbeat_at = now(),
    node = %(node)s, worker = %(worker)s
WHERE b.id = (
    SELECT q.id FROM candle_backfills AS q
    WHERE ((q.state = 'QUEUED'
            AND NOT EXISTS (SELECT 1 FROM candle_backfills AS r
                            WHERE r.exchange_id = q.exchange_id AND r.state = 'RUNNING'))
           OR (q.state = 'RUNNING'
               AND q.heartbeat_at < now() - make_interval(secs => %(stale_after)s)))
      AND NOT EXISTS (SELECT 1 FROM harvester_nodes AS n
                    WHERE n.id = %(node)s AND (n.paused OR n.draining))
    ORDER BY q.state DESC, q.trigger = 'SCHEDULE' DESC, q.queued_at, q.id
    FOR UPDATE SKIP LOCKED
    LIMIT 1
)
RETURNING b.*

-- name: backfill_heartbeat --
-- A job RUNNING on this worker is alive (no row: it is not), and whether keep-current waits.
UPDATE candle_backfills SET heartbeat_at = now()
WHERE id = %(id)s AND state = 'RUNNING' AND worker = %(worker)s AND node = %(node)s
RETURNING id, EXISTS (SELECT 1 FROM candle_backfills AS k
                      WHERE k.state = 'QUEUED' AND k.trigger = 'SCHEDULE') AS kept_waiting

-- name: backfill_progress --
-- Add a page's figures to a job and widen the range it covered.
UPDATE candle_backfills
SET requests = requests + %(requests)s, candles_stored = candles_stored + %(candles)s,
    no_trade_gaps = no_trade_gaps + %(gaps)s,
    covered_from = least(covered_from, %(from_ts)s), covered_to = greatest(covered_to, %(to_ts)s),
    unavailable_before = coalesce(%(unavailable_before)s, unavailable_before),
    cursor_at = %(to_ts)s, heartbeat_at = now()
WHERE id = %(id)s

-- name: backfill_markets --
-- How many markets a job has, how many are done, and up to when it fetches.
UPDATE candle_backfills
SET markets_total = %(total)s, markets_done = %(done)s, until_ts = %(until_ts)s,
    heartbeat_at = now()
WHERE id = %(id)s

-- name: finish_backfill --
-- A job RUNNING on this worker ends SUCCEEDED or FAILED (error: one line).
UPDATE candle_backfills
SET state = %(state)s, finished_at = clock_timestamp(), error = %(error)s
WHERE id = %(id)s AND state = 'RUNNING' AND node = %(node)s AND worker = %(worker)s
RETURNING *

-- name: claim_backfill_by_id --
-- `marketmanager backfill` runs its own QUEUED job in the foreground when no node is alive.
UPDATE candle_backfills AS b
SET state = 'RUNNING', started_at = now(), heartbeat_at = now(), node = %(node)s,
    worker = %(worker)s
WHERE b.id = %(id)s AND b.state = 'QUEUED'
RETURNING b.*

-- name: live_nodes --
-- How many harvester nodes are alive (a recent heartbeat, not stopped).
SELECT count(*) AS alive FROM harvester_nodes
WHERE stopped_at IS NULL AND heartbeat_at >= now() - make_interval(secs => %(stale_after)s)

-- name: requeue_backfill --
-- A job its worker gives up (the node stops) goes back to the queue, progress kept.
UPDATE candle_backfills
SET state = 'QUEUED', node = NULL, worker = NULL, heartbeat_at = NULL
WHERE id = %(id)s AND state = 'RUNNING' AND node = %(node)s AND worker = %(worker)s

-- name: list_backfills --
-- Backfill jobs, newest first, of one exchange or all.
SELECT b.*, e.name AS exchange FROM candle_backfills AS b
JOIN exchanges AS e ON e.id = b.exchange_id
WHERE %(exchange)s::text IS NULL OR e.name = %(exchange)s
ORDER BY b.id DESC
LIMIT %(limit)s

-- name: recent_runs --
-- `marketmanager runs`: harvest runs, newest first, of one exchange or all.
SELECT r.*, e.name AS exchange FROM harvest_runs AS r
JOIN exchanges AS e ON e.id = r.exchange_id
WHERE %(exchange)s::text IS NULL OR e.name = %(exchange)s
ORDER BY r.id DESC
LIMIT %(limit)s

-- name: keep_current_due --
-- Per kept timeframe: markets fetched, the earliest end of their ranges, a job pending.
SELECT e.id AS exchange_id, tf.timeframe,
       coalesce(array_agg(m.symbol ORDER BY m.symbol) FILTER (WHERE m.symbol IS NOT NULL),
                '{}') AS symbols,
       min(ends.to_ts) AS resume_from,
       EXISTS (SELECT 1 FROM candle_backfills AS b
               WHERE b.exchange_id = e.id AND b.timeframe = tf.timeframe
                 AND b.state IN ('QUEUED', 'RUNNING')) AS pending,
       (SELECT max(b.finished_at) FROM candle_backfills AS b
        WHERE b.exchange_id = e.id AND b.timeframe = tf.timeframe AND b.trigger = 'SCHEDULE'
          AND b.state = 'FAILED') AS failed_at
FROM exchanges AS e
CROSS JOIN LATERAL unnest(e.candle_timeframes) AS tf (timeframe)
LEFT JOIN LATERAL (SELECT c.market_id, max(c.to_ts) AS to_ts FROM candle_coverage AS c
                   JOIN markets AS mk ON mk.id = c.market_id
                   WHERE mk.exchange_id = e.id AND c.timeframe = tf.timeframe
                   GROUP BY c.market_id) AS ends ON true
LEFT JOIN markets AS m ON m.id = ends.market_id
WHERE e.enabled
GROUP BY e.id, tf.timeframe

-- name: api_active_backfills --
-- Candle backfills QUEUED or RUNNING, oldest first.
SELECT b.*, e.name AS exchange FROM candle_backfills AS b
JOIN exchanges AS e ON e.id = b.exchange_id
WHERE b.state IN ('QUEUED', 'RUNNING')
ORDER BY b.id

-- name: keep_candles_current --
-- Add a timeframe to an exchange's candle_timeframes (kept current by the backfill lane).
UPDATE exchanges
SET candle_timeframes = ARRAY(
        SELECT t.tf FROM unnest(ARRAY['1m', '5m', '15m', '1h', '4h', '1d']) WITH ORDINALITY AS t (tf, n)
        WHERE t.tf = ANY(candle_timeframes) OR t.tf = %(timeframe)s ORDER BY t.n),
    updated_at = now()
WHERE id = %(exchange_id)s
RETURNING candle_timeframes

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
