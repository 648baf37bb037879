-- The write path (issue 11): the foreign key market_ticks.market_id → markets (id) made
-- every tick the harvest appends look up and lock its market row (10–20% of the write's
-- server CPU), although its only writer, harvest_upsert_markets, takes the ids from the
-- rows the same statement upserted (and still holds locked): a tick cannot name a missing
-- market. What the key also did, ON DELETE CASCADE, is kept by the triggers below, once
-- per statement: deleting markets (or the exchange they belong to) deletes their ticks,
-- and emptying markets (TRUNCATE, e.g. TRUNCATE exchanges CASCADE) empties market_ticks.
-- A tick written by hand must name an existing market; nothing checks it any more.

ALTER TABLE market_ticks DROP CONSTRAINT market_ticks_market_id_fkey;

CREATE FUNCTION markets_delete_ticks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM market_ticks WHERE market_id IN (SELECT id FROM deleted_markets);
    RETURN NULL;
END $$;

CREATE TRIGGER markets_delete_ticks AFTER DELETE ON markets
    REFERENCING OLD TABLE AS deleted_markets
    FOR EACH STATEMENT EXECUTE FUNCTION markets_delete_ticks();

CREATE FUNCTION markets_truncate_ticks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE market_ticks;
    RETURN NULL;
END $$;

CREATE TRIGGER markets_truncate_ticks AFTER TRUNCATE ON markets
    FOR EACH STATEMENT EXECUTE FUNCTION markets_truncate_ticks();
