-- Live updates (issue 10): every change of a run's state is recorded once in live_changes
-- and announced with one NOTIFY on channel mm_live, sent when its transaction commits.
-- The harvest's write path marks its run SUCCEEDED inside the transaction that writes the
-- markets, so that notification also says "this exchange's markets changed". The
-- version is the data version: a listener that reconnects re-reads what came after the
-- last one it saw. Rows are few (one per state change) and pruned as they accumulate.

CREATE TABLE live_changes (
    version     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      bigint NOT NULL,
    exchange_id bigint NOT NULL,
    state       text NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE live_changes IS
    'one row per harvest run state change, announced on channel mm_live (the data version)';

CREATE FUNCTION live_note_run_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    noted bigint;
BEGIN
    INSERT INTO live_changes (run_id, exchange_id, state)
    VALUES (NEW.id, NEW.exchange_id, NEW.state)
    RETURNING version INTO noted;
    PERFORM pg_notify('mm_live', json_build_object(
        'version', noted, 'run', NEW.id, 'exchange', NEW.exchange_id, 'state', NEW.state)::text);
    IF noted % 1000 = 0 THEN
        DELETE FROM live_changes WHERE version <= noted - 10000;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER harvest_runs_live_insert AFTER INSERT ON harvest_runs
    FOR EACH ROW EXECUTE FUNCTION live_note_run_change();
CREATE TRIGGER harvest_runs_live_state AFTER UPDATE OF state ON harvest_runs
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION live_note_run_change();
