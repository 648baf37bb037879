-- Candles (OHLCV) from the exchanges' fetch_ohlcv, the backfill jobs that fetch them, and
-- the ranges those jobs covered (so that a gap can say "no trades" or "not fetched").

CREATE TABLE market_candles (
    market_id    bigint NOT NULL REFERENCES markets (id) ON DELETE CASCADE,
    timeframe    text NOT NULL CHECK (timeframe IN ('1m', '5m', '15m', '1h', '4h', '1d')),
    ts           timestamptz NOT NULL,
    open         numeric NOT NULL,
    high         numeric NOT NULL,
    low          numeric NOT NULL,
    close        numeric NOT NULL,
    base_volume  numeric NOT NULL,
    quote_volume numeric,
    UNIQUE (market_id, timeframe, ts)
) PARTITION BY RANGE (ts);
COMMENT ON COLUMN market_candles.ts IS 'the open time of the candle';

-- Month partitions, created before a write needs them (any past month: backfills go back).
CREATE FUNCTION ensure_market_candles_partitions(first_month date, last_month date)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    month date := date_trunc('month', first_month)::date;
    created integer := 0;
    partition_name text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('ensure_market_candles_partitions'));
    WHILE month <= last_month LOOP
        partition_name := 'market_candles_p' || to_char(month, 'YYYYMM');
        IF to_regclass(partition_name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE IF NOT EXISTS %I PARTITION OF market_candles '
                'FOR VALUES FROM (%L) TO (%L)',
                partition_name, month::timestamp AT TIME ZONE 'UTC',
                (month + interval '1 month')::timestamp AT TIME ZONE 'UTC');
            created := created + 1;
        END IF;
        month := (month + interval '1 month')::date;
    END LOOP;
    RETURN created;
END $$;

-- What backfills asked the exchange for: every candle it had in [from_ts, to_ts) is stored.
CREATE TABLE candle_coverage (
    market_id bigint NOT NULL REFERENCES markets (id) ON DELETE CASCADE,
    timeframe text NOT NULL,
    from_ts   timestamptz NOT NULL,
    to_ts     timestamptz NOT NULL,
    CHECK (to_ts > from_ts)
);
CREATE INDEX candle_coverage_by_market ON candle_coverage (market_id, timeframe, from_ts);

-- Candles to fetch: queued by `marketmanager backfill`, the `backfill` mutation and the
-- keep-current schedule (exchanges.candle_timeframes); run by the harvester's backfill lane.
CREATE TABLE candle_backfills (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    exchange_id        bigint NOT NULL REFERENCES exchanges (id) ON DELETE CASCADE,
    symbols            text[] NOT NULL DEFAULT '{}',
    top                integer NOT NULL DEFAULT 10 CHECK (top > 0),
    timeframe          text NOT NULL CHECK (timeframe IN ('1m', '5m', '15m', '1h', '4h', '1d')),
    since              timestamptz NOT NULL,
    trigger            text NOT NULL DEFAULT 'MANUAL' CHECK (trigger IN ('MANUAL', 'SCHEDULE')),
    state              text NOT NULL DEFAULT 'QUEUED'
                       CHECK (state IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED')),
    queued_at          timestamptz NOT NULL DEFAULT now(),
    started_at         timestamptz,
    heartbeat_at       timestamptz,
    finished_at        timestamptz,
    node               text,
    worker             text,
    markets_total      integer,
    markets_done       integer NOT NULL DEFAULT 0,
    requests           integer NOT NULL DEFAULT 0,
    candles_stored     integer NOT NULL DEFAULT 0,
    until_ts           timestamptz,
    cursor_at          timestamptz,
    covered_from       timestamptz,
    covered_to         timestamptz,
    no_trade_gaps      integer NOT NULL DEFAULT 0,
    unavailable_before timestamptz,
    error              text
);
COMMENT ON COLUMN candle_backfills.symbols IS 'the markets to fetch; empty: the top pairs by USD volume';
COMMENT ON COLUMN candle_backfills.until_ts IS 'fetch up to here: the last closed candle at start';
COMMENT ON COLUMN candle_backfills.cursor_at IS 'how far the market being fetched has come';
COMMENT ON COLUMN candle_backfills.unavailable_before IS
    'the exchange serves no candle before this (kraken keeps only its last 720)';
-- At most one backfill per exchange runs at a time, whichever node asks.
CREATE UNIQUE INDEX candle_backfills_one_running ON candle_backfills (exchange_id)
    WHERE state = 'RUNNING';
-- Keeping a timeframe current queues one job at a time, however many lanes look.
CREATE UNIQUE INDEX candle_backfills_one_kept ON candle_backfills (exchange_id, timeframe)
    WHERE trigger = 'SCHEDULE' AND state IN ('QUEUED', 'RUNNING');
CREATE INDEX candle_backfills_queue ON candle_backfills (queued_at, id) WHERE state = 'QUEUED';
CREATE INDEX candle_backfills_by_exchange ON candle_backfills (exchange_id, id DESC);

-- Timeframes whose candles the scheduler keeps current (a small fetch after each closes).
ALTER TABLE exchanges ADD COLUMN candle_timeframes text[] NOT NULL DEFAULT '{}'
    CHECK (candle_timeframes <@ ARRAY['1m', '5m', '15m', '1h', '4h', '1d']::text[]);
