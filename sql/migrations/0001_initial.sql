-- The whole schema of DESIGN section 3.

CREATE TABLE exchanges (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9_]+$'),
    enabled             boolean NOT NULL DEFAULT true,
    logo                text,
    url                 text,
    api_url             text,
    volume_usd          numeric,
    top_pair            text,
    top_pair_volume_usd numeric,
    unpriced_markets    integer CHECK (unpriced_markets >= 0),
    interval_seconds    integer NOT NULL DEFAULT 60 CHECK (interval_seconds > 0),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    last_update_at      timestamptz
);
COMMENT ON COLUMN exchanges.unpriced_markets IS
    'markets of the last successful run whose quote volume could not be converted to USD';

CREATE TABLE harvest_runs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    exchange_id   bigint NOT NULL REFERENCES exchanges (id) ON DELETE CASCADE,
    state         text NOT NULL DEFAULT 'QUEUED'
                  CHECK (state IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CRASHED')),
    trigger       text NOT NULL CHECK (trigger IN ('SCHEDULE', 'MANUAL', 'RETRY')),
    attempt       integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    retry_of      bigint REFERENCES harvest_runs (id) ON DELETE SET NULL,
    queued_at     timestamptz NOT NULL DEFAULT now(),
    not_before    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    heartbeat_at  timestamptz,
    finished_at   timestamptz,
    node          text,
    worker        text,
    markets_count integer CHECK (markets_count >= 0),
    error         text,
    retryable     boolean,
    CHECK (state <> 'RUNNING' OR (started_at IS NOT NULL AND node IS NOT NULL)),
    CHECK (state NOT IN ('SUCCEEDED', 'FAILED', 'CRASHED') OR finished_at IS NOT NULL)
);
COMMENT ON COLUMN harvest_runs.not_before IS 'a QUEUED run is not claimed before this (backoff)';
COMMENT ON COLUMN harvest_runs.retry_of IS 'the FAILED or CRASHED run this one retries';
-- An exchange has at most one active run, whichever node or process asks.
CREATE UNIQUE INDEX harvest_runs_one_active ON harvest_runs (exchange_id)
    WHERE state IN ('QUEUED', 'RUNNING');
-- A failed run is retried at most once, even with several pollers.
CREATE UNIQUE INDEX harvest_runs_one_retry ON harvest_runs (retry_of) WHERE retry_of IS NOT NULL;
CREATE INDEX harvest_runs_queue ON harvest_runs (not_before, id) WHERE state = 'QUEUED';
CREATE INDEX harvest_runs_running ON harvest_runs (heartbeat_at) WHERE state = 'RUNNING';
CREATE INDEX harvest_runs_by_exchange ON harvest_runs (exchange_id, id DESC);
CREATE INDEX harvest_runs_by_state ON harvest_runs (state, id DESC);

CREATE TABLE markets (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    exchange_id  bigint NOT NULL REFERENCES exchanges (id) ON DELETE CASCADE,
    symbol       text NOT NULL,
    base         text NOT NULL,
    quote        text NOT NULL,
    type         text NOT NULL DEFAULT 'spot',
    active       boolean NOT NULL DEFAULT true,
    last         numeric,
    bid          numeric,
    ask          numeric,
    base_volume  numeric,
    quote_volume numeric,
    volume_usd   numeric,
    change_pct   numeric,
    exchange_ts  timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (exchange_id, symbol)
);
CREATE INDEX markets_by_volume_usd ON markets (volume_usd DESC NULLS LAST, id);
CREATE INDEX markets_by_exchange_volume ON markets (exchange_id, volume_usd DESC NULLS LAST, id);
CREATE INDEX markets_by_pair ON markets (base, quote);
CREATE INDEX markets_by_symbol ON markets (symbol, id);

-- History: one row per market per successful run, partitioned by day. Partitions are
-- created ahead by ensure_market_ticks_partitions() and dropped past retention.
CREATE TABLE market_ticks (
    market_id    bigint NOT NULL REFERENCES markets (id) ON DELETE CASCADE,
    ts           timestamptz NOT NULL,
    last         numeric,
    bid          numeric,
    ask          numeric,
    base_volume  numeric,
    quote_volume numeric
) PARTITION BY RANGE (ts);
CREATE INDEX market_ticks_by_market ON market_ticks (market_id, ts);

CREATE FUNCTION ensure_market_ticks_partitions(first_day date, days integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    day date;
    created integer := 0;
    partition_name text;
BEGIN
    -- Several processes may ask at once; creating partitions concurrently races in the catalog.
    PERFORM pg_advisory_xact_lock(hashtext('ensure_market_ticks_partitions'));
    FOR i IN 0 .. days - 1 LOOP
        day := first_day + i;
        partition_name := 'market_ticks_p' || to_char(day, 'YYYYMMDD');
        IF to_regclass(partition_name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE IF NOT EXISTS %I PARTITION OF market_ticks '
                'FOR VALUES FROM (%L) TO (%L)',
                partition_name, day::timestamp AT TIME ZONE 'UTC',
                (day + 1)::timestamp AT TIME ZONE 'UTC');
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END $$;

CREATE TABLE harvester_nodes (
    id           text PRIMARY KEY,
    host         text NOT NULL,
    pid          integer NOT NULL CHECK (pid > 0),
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    paused       boolean NOT NULL DEFAULT false,
    pool_size    integer NOT NULL CHECK (pool_size > 0),
    draining     boolean NOT NULL DEFAULT false,
    processes    jsonb NOT NULL DEFAULT '[]',
    stopped_at   timestamptz
);
COMMENT ON COLUMN harvester_nodes.processes IS
    'the children of the node''s harvester parent: [{"name", "pid", "started_at", "restarts"}]';

CREATE TABLE api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_sha256 bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    scopes       text[] NOT NULL CHECK (scopes <@ ARRAY['read', 'write', 'admin']::text[]),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz
);
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;
