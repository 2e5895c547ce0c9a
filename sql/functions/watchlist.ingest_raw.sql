-- watchlist.ingest_raw(rows, batch_id): the writer API for raw signal rows.
--   rows      a JSON array of flat objects whose keys are watch_signal_raw's columns
--             (ts and next_funding_time as ISO 8601 strings with a UTC offset; meta an object;
--             signal_type defaults to type_class).
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
CREATE OR REPLACE FUNCTION watchlist.ingest_raw(p_rows jsonb, p_batch_id text DEFAULT NULL)
RETURNS TABLE (received integer, inserted integer, duplicates integer, rejected integer, rejects jsonb)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_batch  text := coalesce(p_batch_id, 'batch-' || to_char(clock_timestamp(), 'YYYYMMDD"T"HH24MISS.US'));
    v_now    timestamptz := now();
    v_good   jsonb[];
    v_idx    integer[];
    v_row    jsonb;
    v_any_problem boolean;
    i        integer;
BEGIN
    IF p_rows IS NULL OR jsonb_typeof(p_rows) <> 'array' THEN
        RAISE EXCEPTION 'watchlist.ingest_raw expects a JSON array of row objects, got %', coalesce(jsonb_typeof(p_rows), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    received := jsonb_array_length(p_rows);

    -- 0. Fast path, for the usual batch of good rows: one pass of the cheap row test over the
    -- batch (the timestamps' test once per distinct value), then one INSERT from jsonb_populate_recordset, with the table's constraints
    -- and casts as the rest of the checks. Inside an exception block: any error (a row the
    -- table refuses, an impossible date in the test's cast) or a key repeated inside the
    -- batch rolls it back and the batch takes the exact path below, which names the row
    -- and field. A batch with a row the test does not pass goes there directly.
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(p_rows) AS r(val)
                        WHERE NOT watchlist_data.raw_row_quick_ok(r.val))
           AND NOT EXISTS (SELECT 1
                             FROM (SELECT DISTINCT r.val ->> 'ts' AS ts, r.val ->> 'next_funding_time' AS nft
                                     FROM jsonb_array_elements(p_rows) AS r(val)) AS d
                            WHERE NOT (watchlist_data.raw_ts_quick_ok(d.ts, v_now + INTERVAL '5 minutes')
                                       AND watchlist_data.raw_ts_quick_ok(d.nft, NULL))) THEN
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
        NULL;  -- rolled back: the exact path below
    END;

    CREATE TEMP TABLE IF NOT EXISTS pg_temp.wl_ingest_problem (row_index integer, field text, reason text) ON COMMIT DROP;
    TRUNCATE pg_temp.wl_ingest_problem;

    -- 1. Per-row checks, set-based: one pass over the batch with the inlined fast test
    -- (watchlist_data.raw_row_clean); only rows it cannot vouch for get the exact per-field
    -- verdict of watchlist_data.raw_row_problems (the same reasons as ever).
    INSERT INTO pg_temp.wl_ingest_problem
    SELECT (r.ord - 1)::integer, p.field, p.reason
      FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS r(val, ord)
     CROSS JOIN LATERAL watchlist_data.raw_row_problems(r.val, v_now) AS p
     WHERE NOT watchlist_data.raw_row_clean(r.val, v_now);
    v_any_problem := FOUND;

    -- 2. Keys repeated inside the batch (among rows that passed 1): keep the first.
    INSERT INTO pg_temp.wl_ingest_problem
    SELECT d.row_index, 'ts', format('duplicate key (exchange, symbol, ts) inside the batch: same as row %s', d.first_index)
      FROM (
        SELECT (r.ord - 1)::integer AS row_index,
               (first_value(r.ord) OVER w - 1)::integer AS first_index,
               row_number() OVER w AS n
          FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS r(val, ord)
         WHERE NOT (v_any_problem AND EXISTS (SELECT 1 FROM pg_temp.wl_ingest_problem q WHERE q.row_index = r.ord - 1))
        WINDOW w AS (PARTITION BY r.val ->> 'exchange', r.val ->> 'symbol', (r.val ->> 'ts')::timestamptz ORDER BY r.ord)
      ) AS d
     WHERE d.n > 1;

    -- 3. Good rows in one INSERT (watchlist_data.raw_insert, as the fast path; the rows
    -- with a problem left out of the array); a row the checks let through but the database still refuses
    -- sends the batch through the one-row-at-a-time fallback, so only that row is quarantined.
    v_any_problem := v_any_problem OR EXISTS (SELECT 1 FROM pg_temp.wl_ingest_problem);
    inserted := 0;
    BEGIN
        inserted := watchlist_data.raw_insert(
            CASE WHEN v_any_problem
                 THEN (SELECT coalesce(jsonb_agg(r.val ORDER BY r.ord), '[]'::jsonb)
                         FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS r(val, ord)
                        WHERE NOT EXISTS (SELECT 1 FROM pg_temp.wl_ingest_problem q WHERE q.row_index = r.ord - 1))
                 ELSE p_rows END,
            v_now);
    EXCEPTION WHEN OTHERS THEN
        -- A row the checks let through was still refused: fall back to one row at a
        -- time so that only the offending row is quarantined.
        inserted := 0;
        SELECT array_agg(r.val || jsonb_build_object(
                    'meta', coalesce(nullif(r.val -> 'meta', 'null'::jsonb), '{}'::jsonb),
                    'signal_type', coalesce(nullif(r.val -> 'signal_type', 'null'::jsonb), r.val -> 'type_class'),
                    'ingested_at', to_jsonb(v_now))
                 ORDER BY r.ord),
               array_agg((r.ord - 1)::integer ORDER BY r.ord)
          INTO v_good, v_idx
          FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS r(val, ord)
         WHERE NOT EXISTS (SELECT 1 FROM pg_temp.wl_ingest_problem q WHERE q.row_index = r.ord - 1);
        FOR i IN 1 .. coalesce(cardinality(v_good), 0) LOOP
            v_row := v_good[i];
            BEGIN
                INSERT INTO watchlist_data.watch_signal_raw
                SELECT x.* FROM jsonb_populate_record(NULL::watchlist_data.watch_signal_raw, v_row) AS x
                ON CONFLICT (exchange, symbol, ts) DO NOTHING;
                IF FOUND THEN inserted := inserted + 1; END IF;
            EXCEPTION WHEN OTHERS THEN
                INSERT INTO pg_temp.wl_ingest_problem VALUES (v_idx[i], '(row)', format('refused by the database: %s [%s]', SQLERRM, SQLSTATE));
            END;
        END LOOP;
    END;

    -- 4. Quarantine and report.
    INSERT INTO watchlist_data.ingest_quarantine (batch_id, row_index, field, reason, row_data)
    SELECT v_batch, q.row_index, q.field, q.reason,
           CASE WHEN octet_length((p_rows -> q.row_index)::text) <= 65536 THEN p_rows -> q.row_index
                ELSE (p_rows -> q.row_index) - 'meta' || '{"meta": "(dropped: oversize)"}'::jsonb END
      FROM pg_temp.wl_ingest_problem AS q
     ORDER BY q.row_index, q.field;

    SELECT count(DISTINCT q.row_index)::integer,
           coalesce(jsonb_agg(jsonb_build_object('row', q.row_index, 'field', q.field, 'reason', q.reason)
                              ORDER BY q.row_index, q.field), '[]'::jsonb)
      INTO rejected, rejects
      FROM pg_temp.wl_ingest_problem AS q;
    duplicates := received - rejected - inserted;
    TRUNCATE pg_temp.wl_ingest_problem;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION watchlist.ingest_raw(jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.ingest_raw(jsonb, text) TO wl_writer;
