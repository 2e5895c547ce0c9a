-- watchlist.compute_factors_incremental(p_now): the factor job's unit of work.
--   1. every key: the bucket ends after the last run's end up to the last complete bucket end
--      at p_now (the first run starts factor_lookback before p_now);
--   2. late rows: keys with raw rows ingested since the ingestion watermark (2-minute overlap)
--      whose ts lies before that start, inside the look-back [p_now - factor_lookback, ...):
--      their rows are recomputed from the bucket of the oldest such row, first, in time order,
--      so later rows read the corrected ones.
-- Watermark, window end and rows are written in one transaction. Owner only.
CREATE OR REPLACE FUNCTION watchlist.compute_factors_incremental(p_now timestamptz DEFAULT now())
RETURNS TABLE (late_keys integer, late_from timestamptz, from_ts timestamptz, to_ts timestamptz,
               factor_rows bigint, watermark timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    c_overlap CONSTANT interval := INTERVAL '2 minutes';
    v_look    interval := watchlist_data.setting('factor_lookback')::interval;
    v_wm      timestamptz;
    v_prev_to timestamptz;
    v_lo      timestamptz;
    v_new_wm  timestamptz;
    v_keys    jsonb;
    v_slo     timestamptz;
    v_flo     timestamptz;
    v_sex     text[];
    v_ssym    text[];
    v_st      timestamptz[];
    v_seqscan text;
    v_sort    text;
    v_res     record;
BEGIN
    PERFORM watchlist_data.take_job_lock('compute_factors');
    SELECT s.watermark, (s.last_stats ->> 'to_ts')::timestamptz INTO v_wm, v_prev_to
      FROM watchlist_data.job_state AS s WHERE s.job = 'compute_factors';
    to_ts := @extschema@.time_bucket(INTERVAL '5 minutes', p_now);
    from_ts := greatest(coalesce(v_prev_to, to_ts - v_look), to_ts - v_look);
    factor_rows := 0;
    -- a plain value, not an expression, bounds every read of the hypertables below: the
    -- planner leaves older chunks out of the plan and never locks them (a lock on a chunk
    -- the retention policy is dropping deadlocks it)
    v_lo := to_ts - v_look;

    -- Rows ingested since the watermark (less the overlap), found through the index on
    -- ingested_at (0170; a few minutes of rows, not the look-back's), grouped by hashing (as in
    -- watchlist.label_outcomes_incremental: misled by a new chunk's statistics the planner would
    -- scan the whole window); kept as arrays for the next statement, with the earliest bucket
    -- end at or before from_ts as a plain value.
    v_seqscan := current_setting('enable_seqscan');
    v_sort := current_setting('enable_sort');
    PERFORM set_config('enable_seqscan', 'off', true);
    PERFORM set_config('enable_sort', 'off', true);
    SELECT max(s.max_ing), min(s.t) FILTER (WHERE s.t <= from_ts),
           array_agg(s.exchange) FILTER (WHERE s.t <= from_ts), array_agg(s.symbol) FILTER (WHERE s.t <= from_ts),
           array_agg(s.t) FILTER (WHERE s.t <= from_ts)
      INTO v_new_wm, v_slo, v_sex, v_ssym, v_st
      FROM (SELECT r.exchange, r.symbol, @extschema@.time_bucket(INTERVAL '5 minutes', r.ts) + INTERVAL '5 minutes' AS t,
                   max(r.ingested_at) AS max_ing
              FROM watchlist_data.watch_signal_raw AS r
             WHERE r.ts >= v_lo AND r.ts < to_ts
               AND r.ingested_at > coalesce(v_wm - c_overlap, '-infinity')
             GROUP BY 1, 2, 3) AS s;
    PERFORM set_config('enable_seqscan', v_seqscan, true);
    PERFORM set_config('enable_sort', v_sort, true);

    -- Those before from_ts belong to buckets already computed: late unless the stored row
    -- already counted them (the overlap re-reads rows seen by the previous run; raw rows are
    -- never updated, so equal counts mean equal rows). The stored rows are read in
    -- [v_slo, from_ts] only; the bucket ending at from_ts (every key has overlap rows there)
    -- counts its raw rows in one grouped read of those 5 minutes, older buckets (rows really
    -- late, few) one index range each.
    IF v_slo IS NOT NULL THEN
        v_flo := from_ts - INTERVAL '5 minutes';
        WITH seen AS (
            SELECT u.exchange, u.symbol, u.t FROM unnest(v_sex, v_ssym, v_st) AS u(exchange, symbol, t)
        ), lastc AS (
            SELECT r.exchange, r.symbol, count(*) AS n
              FROM watchlist_data.watch_signal_raw AS r
             WHERE r.ts >= v_flo AND r.ts < from_ts
             GROUP BY 1, 2
        ), late AS (
            SELECT s.exchange, s.symbol, min(s.t) AS t
              FROM seen AS s
              LEFT JOIN watchlist_data.factor_value AS fv
                ON fv.exchange = s.exchange AND fv.symbol = s.symbol AND fv.ts = s.t AND fv.ts >= v_slo AND fv.ts <= from_ts
              LEFT JOIN lastc ON lastc.exchange = s.exchange AND lastc.symbol = s.symbol AND s.t = from_ts
             WHERE fv.ts IS NULL
                OR fv.b_n_rows <> CASE WHEN s.t = from_ts THEN coalesce(lastc.n, 0) ELSE
                                      (SELECT count(*) FROM watchlist_data.watch_signal_raw AS r2
                                        WHERE r2.exchange = s.exchange AND r2.symbol = s.symbol
                                          AND r2.ts >= s.t - INTERVAL '5 minutes' AND r2.ts < s.t
                                          AND r2.ts >= v_lo AND r2.ts < from_ts) END
             GROUP BY 1, 2
        )
        SELECT min(l.t) - INTERVAL '5 minutes', jsonb_agg(jsonb_build_array(l.exchange, l.symbol)), count(*)
          INTO late_from, v_keys, late_keys
          FROM late AS l;
    ELSE
        late_keys := 0;
    END IF;

    IF v_keys IS NOT NULL THEN
        SELECT * INTO v_res FROM watchlist_data.compute_factors_keys(late_from, from_ts, v_keys);
        factor_rows := factor_rows + v_res.factor_rows;
    END IF;
    IF from_ts < to_ts THEN
        SELECT * INTO v_res FROM watchlist_data.compute_factors_keys(from_ts, to_ts, NULL);
        factor_rows := factor_rows + v_res.factor_rows;
    END IF;

    watermark := coalesce(greatest(v_wm, v_new_wm), '-infinity');
    INSERT INTO watchlist_data.job_state AS s (job, watermark, last_run_at, last_stats)
    VALUES ('compute_factors', watermark, now(),
            jsonb_build_object('late_keys', late_keys, 'late_from', late_from, 'from_ts', from_ts,
                               'to_ts', to_ts, 'factor_rows', factor_rows, 'p_now', p_now))
    ON CONFLICT (job) DO UPDATE
       SET watermark = EXCLUDED.watermark, last_run_at = EXCLUDED.last_run_at, last_stats = EXCLUDED.last_stats;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION watchlist.compute_factors_incremental(timestamptz) FROM PUBLIC;
