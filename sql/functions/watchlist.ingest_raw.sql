-- watchlist.ingest_raw(rows, batch_id): the writer API for raw signal rows.
--   rows      a JSON array of flat objects whose keys are watch_signal_raw's columns
--             (ts and next_funding_time as ISO 8601 strings with a numeric UTC offset; meta
--             an object; signal_type defaults to type_class). The accepted values, ranges and
--             times: docs/writer-input.md (ts from now() - raw_retention to now() + 5 min).
--   batch_id  the caller's name for the batch, recorded with rejected rows.
-- One statement per batch. A batch whose every row passes watchlist_data.raw_row_quick_ok
-- goes in with one INSERT straight from jsonb_populate_recordset (step 0); if the table
-- refuses a row of it, or a key repeats inside it, that INSERT is rolled back and the batch
-- takes the exact path. There each row is checked (watchlist_data.raw_row_problems); a bad row
-- is quarantined (watchlist.ingest_rejects) with its 0-based index, field and reason, and
-- never costs the good rows next to it. Good rows are inserted with ON CONFLICT DO NOTHING
-- on (exchange, symbol, ts), so replaying a batch changes nothing; a key repeated inside
-- the batch keeps its first occurrence and quarantines the others.
-- Returns one row: received, inserted, duplicates (already stored), rejected (rows), and
-- rejects: [{"row": i, "field": f, "reason": r}, ...].
-- The problems are collected in plpgsql arrays, never in a table: this function runs as the
-- owner, and a temporary table (or anything else in pg_temp or a schema the caller can
-- create in) could have been created first by the caller, with a trigger of theirs.
CREATE OR REPLACE FUNCTION watchlist.ingest_raw(p_rows jsonb, p_batch_id text DEFAULT NULL)
RETURNS TABLE (received integer, inserted integer, duplicates integer, rejected integer, rejects jsonb)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_batch  text := coalesce(p_batch_id, 'batch-' || to_char(clock_timestamp(), 'YYYYMMDD"T"HH24MISS.US'));
    v_now    timestamptz := now();
    -- the window of ts: no older than the raw retention (dropped at once otherwise), no later
    -- than now plus the clock skew allowed
    v_earliest timestamptz := now() - watchlist_data.setting('raw_retention')::interval;
    v_latest   timestamptz := now() + watchlist_data.raw_input_bound('future_skew');
    -- the problems found: (v_prob_row[i], v_prob_field[i], v_prob_reason[i]); v_bad: the rows with any
    v_prob_row    integer[] := '{}';
    v_prob_field  text[] := '{}';
    v_prob_reason text[] := '{}';
    v_bad    integer[] := '{}';
    v_good   jsonb[];
    v_idx    integer[];
    v_row    jsonb;
    i        integer;
BEGIN
    IF p_rows IS NULL OR jsonb_typeof(p_rows) <> 'array' THEN
        RAISE EXCEPTION 'watchlist.ingest_raw expects a JSON array of row objects, got %', coalesce(jsonb_typeof(p_rows), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    received := jsonb_array_length(p_rows);

    -- 0. Fast path, for the usual batch of good rows: one pass of the cheap row test over the
    -- batch (the timestamps' test once per distinct value, the numbers' ranges once per
    -- column: watchlist_data.raw_rows_in_range), then one INSERT from
    -- jsonb_populate_recordset, with the table's constraints and casts as the rest of the
    -- checks. Inside an exception block: any error (a row the table refuses, an impossible
    -- date in the test's cast) or a key repeated inside the batch rolls it back and the batch
    -- takes the exact path below, which names the row and field. A batch with a row the test
    -- does not pass goes there directly.
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(p_rows) AS r(val)
                        WHERE NOT watchlist_data.raw_row_quick_ok(r.val))
           AND NOT EXISTS (SELECT 1
                             FROM (SELECT DISTINCT r.val ->> 'ts' AS ts, r.val ->> 'next_funding_time' AS nft
                                     FROM jsonb_array_elements(p_rows) AS r(val)) AS d
                            WHERE NOT (watchlist_data.raw_ts_quick_ok(d.ts, v_earliest, v_latest)
                                       AND (d.nft IS NULL
                                            OR watchlist_data.raw_ts_quick_ok(d.nft, d.ts::timestamptz - watchlist_data.raw_input_bound('nft_before'),
                                                                              d.ts::timestamptz + watchlist_data.raw_input_bound('nft_after')))))
           AND watchlist_data.raw_rows_in_range(p_rows) THEN
            inserted := watchlist_data.raw_insert(p_rows, v_now);
            -- fewer rows than received: already stored (a replay), or a key repeated inside
            -- the batch, which must be quarantined: only then is the batch grouped by key
            IF inserted < received AND EXISTS (
                   SELECT 1 FROM jsonb_array_elements(p_rows) AS r(val)
                    GROUP BY r.val ->> 'exchange', r.val ->> 'symbol', (r.val ->> 'ts')::timestamptz
                   HAVING count(*) > 1) THEN
                RAISE EXCEPTION 'key repeated inside the batch' USING ERRCODE = 'unique_violation';
            END IF;
            rejected := 0;
            duplicates := received - inserted;
            rejects := '[]'::jsonb;
            RETURN NEXT;
            RETURN;
        END IF;
    EXCEPTION WHEN OTHERS THEN
        IF NOT watchlist_data.is_row_fault(SQLSTATE) THEN
            RAISE;  -- the server's state (a full disk, a cancel): the caller keeps the batch
        END IF;
        -- rolled back: the exact path below
    END;

    -- 1. Per-row checks, set-based: one pass over the batch with the inlined fast test
    -- (watchlist_data.raw_row_clean); only rows it cannot vouch for get the exact per-field
    -- verdict of watchlist_data.raw_row_problems (which never raises).
    SELECT coalesce(array_agg((r.ord - 1)::integer ORDER BY r.ord, p.field), '{}'),
           coalesce(array_agg(p.field ORDER BY r.ord, p.field), '{}'),
           coalesce(array_agg(p.reason ORDER BY r.ord, p.field), '{}')
      INTO v_prob_row, v_prob_field, v_prob_reason
      FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS r(val, ord)
     CROSS JOIN LATERAL watchlist_data.raw_row_problems(r.val, v_earliest, v_latest) AS p
     WHERE NOT watchlist_data.raw_row_clean(r.val, v_earliest, v_latest);

    -- 2. Keys repeated inside the batch (among rows that passed 1): keep the first. The
    -- rows that passed have a valid ts, so its cast cannot fail.
    SELECT v_prob_row || coalesce(array_agg(d.row_index ORDER BY d.row_index), '{}'),
           v_prob_field || coalesce(array_agg('ts'::text ORDER BY d.row_index), '{}'),
           v_prob_reason || coalesce(array_agg(format('duplicate key (exchange, symbol, ts) inside the batch: same as row %s', d.first_index)
                                          ORDER BY d.row_index), '{}')
      INTO v_prob_row, v_prob_field, v_prob_reason
      FROM (
        SELECT (r.ord - 1)::integer AS row_index,
               (first_value(r.ord) OVER w - 1)::integer AS first_index,
               row_number() OVER w AS n
          FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS r(val, ord)
         WHERE NOT EXISTS (SELECT 1 FROM unnest(v_prob_row) AS q(row_index) WHERE q.row_index = r.ord - 1)
        WINDOW w AS (PARTITION BY r.val ->> 'exchange', r.val ->> 'symbol', (r.val ->> 'ts')::timestamptz ORDER BY r.ord)
      ) AS d
     WHERE d.n > 1;
    v_bad := ARRAY(SELECT DISTINCT q.row_index FROM unnest(v_prob_row) AS q(row_index));

    -- 3. Good rows in one INSERT (watchlist_data.raw_insert, as the fast path; the rows
    -- with a problem left out of the array); a row the checks let through but the database
    -- still refuses sends the batch through the one-row-at-a-time fallback, so only that
    -- row is quarantined.
    inserted := 0;
    BEGIN
        inserted := watchlist_data.raw_insert(
            CASE WHEN cardinality(v_bad) > 0
                 THEN (SELECT coalesce(jsonb_agg(r.val ORDER BY r.ord), '[]'::jsonb)
                         FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS r(val, ord)
                        WHERE NOT EXISTS (SELECT 1 FROM unnest(v_bad) AS q(row_index) WHERE q.row_index = r.ord - 1))
                 ELSE p_rows END,
            v_now);
    EXCEPTION WHEN OTHERS THEN
        -- A row the checks let through was still refused: fall back to one row at a
        -- time so that only the offending row is quarantined. An error that is the
        -- server's, not a row's, fails the call instead (watchlist_data.is_row_fault).
        IF NOT watchlist_data.is_row_fault(SQLSTATE) THEN
            RAISE;
        END IF;
        inserted := 0;
        SELECT array_agg(r.val || jsonb_build_object(
                    'meta', coalesce(nullif(r.val -> 'meta', 'null'::jsonb), '{}'::jsonb),
                    'signal_type', coalesce(nullif(r.val -> 'signal_type', 'null'::jsonb), r.val -> 'type_class'),
                    'ingested_at', to_jsonb(v_now))
                 ORDER BY r.ord),
               array_agg((r.ord - 1)::integer ORDER BY r.ord)
          INTO v_good, v_idx
          FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS r(val, ord)
         WHERE NOT EXISTS (SELECT 1 FROM unnest(v_bad) AS q(row_index) WHERE q.row_index = r.ord - 1);
        FOR i IN 1 .. coalesce(cardinality(v_good), 0) LOOP
            v_row := v_good[i];
            BEGIN
                INSERT INTO watchlist_data.watch_signal_raw
                SELECT x.* FROM jsonb_populate_record(NULL::watchlist_data.watch_signal_raw, v_row) AS x
                ON CONFLICT (exchange, symbol, ts) DO NOTHING;
                IF FOUND THEN inserted := inserted + 1; END IF;
            EXCEPTION WHEN OTHERS THEN
                IF NOT watchlist_data.is_row_fault(SQLSTATE) THEN
                    RAISE;
                END IF;
                v_prob_row := v_prob_row || v_idx[i];
                v_prob_field := v_prob_field || '(row)'::text;
                v_prob_reason := v_prob_reason || format('refused by the database: %s [%s]', SQLERRM, SQLSTATE);
            END;
        END LOOP;
    END;

    -- 4. Quarantine (each row cut to watchlist_data.quarantine_row_max_bytes()) and report.
    -- (the row cut once per row, not once per problem)
    INSERT INTO watchlist_data.ingest_quarantine (batch_id, row_index, field, reason, row_data)
    SELECT v_batch, q.row_index, q.field, q.reason, c.row_data
      FROM unnest(v_prob_row, v_prob_field, v_prob_reason) AS q(row_index, field, reason)
      JOIN (SELECT b.row_index, watchlist_data.quarantine_row(p_rows -> b.row_index) AS row_data
              FROM (SELECT DISTINCT u.row_index FROM unnest(v_prob_row) AS u(row_index)) AS b) AS c
        ON c.row_index = q.row_index
     ORDER BY q.row_index, q.field;

    SELECT count(DISTINCT q.row_index)::integer,
           coalesce(jsonb_agg(jsonb_build_object('row', q.row_index, 'field', q.field, 'reason', q.reason)
                              ORDER BY q.row_index, q.field), '[]'::jsonb)
      INTO rejected, rejects
      FROM unnest(v_prob_row, v_prob_field, v_prob_reason) AS q(row_index, field, reason);
    duplicates := received - rejected - inserted;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION watchlist.ingest_raw(jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.ingest_raw(jsonb, text) TO wl_writer;
