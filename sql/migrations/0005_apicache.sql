-- The response cache (issue 11): a query's answer may be kept until the data changes, so
-- every write that changes what queries answer must be announced on channel mm_live.
-- Harvest runs announce themselves (0003); a statement on exchanges (a user's edit, the
-- harvest's totals, candle timeframes) or on markets (a market listed by the candle lane)
-- announces here, once per statement, with {"edited": "<table>"}: no version, no row in
-- live_changes, since no run changed and subscribers have nothing to receive. Identical
-- notifications of one transaction are folded into one by PostgreSQL.

CREATE FUNCTION live_note_edit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mm_live', json_build_object('edited', TG_TABLE_NAME)::text);
    RETURN NULL;
END $$;

CREATE TRIGGER exchanges_live_edit AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON exchanges
    FOR EACH STATEMENT EXECUTE FUNCTION live_note_edit();
CREATE TRIGGER markets_live_edit AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON markets
    FOR EACH STATEMENT EXECUTE FUNCTION live_note_edit();
-- Emptied tables say nothing through their row triggers (0003).
CREATE TRIGGER harvest_runs_live_truncate AFTER TRUNCATE ON harvest_runs
    FOR EACH STATEMENT EXECUTE FUNCTION live_note_edit();
CREATE TRIGGER market_ticks_live_truncate AFTER TRUNCATE ON market_ticks
    FOR EACH STATEMENT EXECUTE FUNCTION live_note_edit();
