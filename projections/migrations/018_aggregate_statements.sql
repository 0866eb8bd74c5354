-- The aggregates' trigger (migration 017), at the live path's cost. Before, every statement on
-- an items table built each of its aggregates' SQL afresh (five dynamic queries an aggregate,
-- each parsed and planned again), also for statements that changed no row: the refold's
-- DELETE of a person's moved rows runs on every items table in every batch. That was ~25 ms
-- of a batch of one record.
--
-- Now a statement that changed no row costs one look at its transition table. One that did
-- runs one statement per items table and operation, prepared here: every aggregate of the
-- table upserted in name order (the order concurrent writers lock rows in), returning how
-- many rows it emptied; only then are emptied rows deleted. The trigger function is generated
-- with those statements as static SQL, so PL/pgSQL plans each once per session and table.
-- Static SQL names tables through the search path: it runs only when the trigger's table is
-- in the first schema of the path (the processor's connection, live or a replay's schema);
-- any other writer gets the same statement dynamically, with its table's schema filled in,
-- so a replay's tables keep working after the swap moves them into the live schema.

CREATE TABLE aggregate_statements (
    source  text NOT NULL,    -- the items table (aggregates.source)
    op      text NOT NULL,    -- INSERT, DELETE or UPDATE (the trigger's TG_OP)
    upserts text NOT NULL,    -- WITH list: each aggregate's upsert of the statement's rows
    reads   text NOT NULL,    -- the upserted rows' contributions, in name order
    names   text[] NOT NULL,  -- the aggregates, in name order
    PRIMARY KEY (source, op)
);

-- Prepare `schema`'s statements from its aggregates table and generate the trigger function
-- from them: a migration that changes the aggregates calls this again.
CREATE OR REPLACE FUNCTION aggregation.prepare_statements(schema text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    src record;
    a record;
    op text;
    parts text[];
    signs int[];
    upserts text[];
    reads text[];
    names text[];
    branches text := '';
    branch text;
BEGIN
    EXECUTE format('DELETE FROM %I.aggregate_statements', schema);
    FOR src IN EXECUTE format('SELECT DISTINCT source FROM %I.aggregates ORDER BY 1', schema) LOOP
        branch := '';
        FOREACH op IN ARRAY ARRAY['INSERT', 'DELETE', 'UPDATE'] LOOP
            parts := CASE op WHEN 'INSERT' THEN ARRAY['new_rows'] WHEN 'DELETE' THEN ARRAY['old_rows']
                     ELSE ARRAY['new_rows', 'old_rows'] END;
            signs := CASE op WHEN 'INSERT' THEN ARRAY[1] WHEN 'DELETE' THEN ARRAY[-1]
                     ELSE ARRAY[1, -1] END;
            upserts := '{}';
            reads := '{}';
            names := '{}';
            FOR a IN EXECUTE format('SELECT name, keys, sums FROM %I.aggregates WHERE source = $1'
                                    ' ORDER BY name', schema) USING src.source LOOP
                upserts := upserts || format(
                    '%I AS (INSERT INTO {schema}.%I AS a (%s) %s ON CONFLICT (%s) DO UPDATE SET %s'
                    ' RETURNING a.contributions)',
                    'u_' || a.name, a.name, aggregation.columns(schema, a.name),
                    aggregation.summed(schema, a.name, parts, signs),
                    (SELECT string_agg(quote_ident(k), ', ') FROM unnest(a.keys) AS k),
                    (SELECT string_agg(format('%I = a.%I + excluded.%I', s, s, s), ', ')
                     FROM unnest(a.sums || 'contributions'::text) AS s));
                reads := reads || format('SELECT contributions FROM %I', 'u_' || a.name);
                names := names || a.name::text;
            END LOOP;
            EXECUTE format('INSERT INTO %I.aggregate_statements VALUES ($1, $2, $3, $4, $5)',
                           schema)
                USING src.source, op, array_to_string(upserts, ', '),
                      array_to_string(reads, ' UNION ALL '), names;
            -- The upserts run in the order the outer query reads them: name order.
            branch := branch || format(
                E'        %s TG_OP = %L THEN\n            WITH %s SELECT count(*) INTO emptied'
                || E' FROM (%s) z WHERE contributions = 0;\n',
                CASE op WHEN 'INSERT' THEN 'IF' ELSE 'ELSIF' END, op,
                replace(array_to_string(upserts, ', '), '{schema}.', ''),
                array_to_string(reads, ' UNION ALL '));
        END LOOP;
        branches := branches || format(
            E'    IF TG_TABLE_NAME = %L THEN\n%s        END IF;\n        IF emptied > 0 THEN\n%s'
            || E'        END IF;\n        RETURN NULL;\n    END IF;\n',
            src.source, branch,
            (SELECT string_agg(format(E'            DELETE FROM %I WHERE contributions = 0;\n', n),
                               '' ORDER BY n) FROM unnest(names) AS n));
    END LOOP;
    EXECUTE format($f$
CREATE OR REPLACE FUNCTION aggregation.maintain() RETURNS trigger
LANGUAGE plpgsql AS $body$
-- Generated by aggregation.prepare_statements (migration 018): do not edit.
DECLARE
    prepared record;
    emptied bigint;
    n text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        FOR n IN EXECUTE format('SELECT name FROM %%I.aggregates WHERE source = $1 ORDER BY name',
                                TG_TABLE_SCHEMA) USING TG_TABLE_NAME LOOP
            EXECUTE format('DELETE FROM %%I.%%I', TG_TABLE_SCHEMA, n);
        END LOOP;
        RETURN NULL;
    END IF;
    -- PL/pgSQL compiles a trigger function per table: these plans are each table's own.
    IF TG_OP = 'DELETE' THEN
        PERFORM FROM old_rows LIMIT 1;
    ELSE
        PERFORM FROM new_rows LIMIT 1;
    END IF;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_SCHEMA = current_schema() THEN
%s    END IF;
    EXECUTE format('SELECT upserts, reads, names FROM %%I.aggregate_statements'
                   ' WHERE source = $1 AND op = $2', TG_TABLE_SCHEMA)
        INTO prepared USING TG_TABLE_NAME, TG_OP;
    EXECUTE 'WITH ' || replace(prepared.upserts, '{schema}', quote_ident(TG_TABLE_SCHEMA))
            || ' SELECT count(*) FROM (' || prepared.reads || ') z WHERE contributions = 0'
        INTO emptied;
    IF emptied > 0 THEN
        FOREACH n IN ARRAY prepared.names LOOP
            EXECUTE format('DELETE FROM %%I.%%I WHERE contributions = 0', TG_TABLE_SCHEMA, n);
        END LOOP;
    END IF;
    RETURN NULL;
END $body$
$f$, branches);
END $$;

SELECT aggregation.prepare_statements(current_schema());
