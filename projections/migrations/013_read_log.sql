-- The read log (Logboek Dataverwerkingen): one row per read of person-level data — who
-- (role and token id, or the OS user of the command line), when (started and ended), which
-- person key, the declared purpose (verwerkingsactiviteit) and legal basis (grondslag), the
-- trace and span it belongs to, and the result. Append-only: a trigger refuses UPDATE, DELETE
-- and TRUNCATE. It lives in a schema of its own, `logboek`, never in a replay's fresh schema:
-- a replay's swap replaces the live tables and must not replace this one (so in a replay's
-- schema this migration creates nothing new: IF NOT EXISTS / OR REPLACE).
CREATE SCHEMA IF NOT EXISTS logboek;
CREATE TABLE IF NOT EXISTS logboek.verwerkingen (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trace_id text NOT NULL CHECK (trace_id ~ '^[0-9a-f]{32}$'),
    span_id text NOT NULL CHECK (span_id ~ '^[0-9a-f]{16}$'),
    operation text NOT NULL,
    started_at timestamptz NOT NULL,
    ended_at timestamptz NOT NULL,
    subject_role text NOT NULL,
    subject_id text NOT NULL,
    person_key text NOT NULL,
    purpose text NOT NULL CHECK (length(trim(purpose)) > 0),
    legal_basis text,
    result text NOT NULL,
    logged_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS verwerkingen_person ON logboek.verwerkingen (person_key, started_at);
CREATE INDEX IF NOT EXISTS verwerkingen_started ON logboek.verwerkingen (started_at);
CREATE OR REPLACE FUNCTION logboek.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'logboek.verwerkingen is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE OR REPLACE TRIGGER verwerkingen_no_change BEFORE UPDATE OR DELETE ON logboek.verwerkingen
    FOR EACH ROW EXECUTE FUNCTION logboek.append_only();
CREATE OR REPLACE TRIGGER verwerkingen_no_truncate BEFORE TRUNCATE ON logboek.verwerkingen
    FOR EACH STATEMENT EXECUTE FUNCTION logboek.append_only();
