-- watchlist.label_outcomes_incremental(p_now): the outcome job's unit of work, costing in
-- proportion to what changed since the previous run, not to the history. State: the
-- ingestion watermark in watchlist_data.job_state (job 'label_outcomes', with the last run's
-- figures in last_stats), the carried state in watchlist_data.label_job_state (the previous
-- p_now, the events still waiting for data) and watchlist_data.label_ranked_day (when each
-- open day was last ranked); all written in one transaction with the labels. No state row:
-- a first run, which looks at every event and ranks every day it touches.
-- Steps, in the order they run:
--   1. late data (looked up before anything is written): labels whose window
--      [entry - max sample gap, entry + horizon] received raw rows ingested since the
--      watermark (less the overlap) that are not newer than the previous run's p_now (newer
--      rows cannot change an existing label), computed before those rows arrived; and the
--      new watermark, from the same read.
--   2. newly due labels: (confirmed event, horizon) pairs whose horizon fell due since the
--      previous p_now (less watchlist_data.incremental_overlap()), one entry_ts range per
--      horizon; a due label is written once data reaches its horizon or the grace period ends.
--   3. events the merge changed since the previous run (updated_at; e.g. confirmed late,
--      after a horizon had passed) that are confirmed and miss a due label.
--   4. recomputed: every due label of the events of 1 and 3; then the events still waiting
--      for data at the previous run, from their earliest waiting horizon on.
--   5. the events whose due label still waits for data and that the next run's window will
--      not cover: carried to the next run (a label waits at most the grace period).
--   6. quintiles (label.quantile, per horizon and UTC day of the entry) of the days touched:
--      at most once an hour while a day fills and once more when it closes (its last
--      horizon + the grace period has passed), since ranking a day costs as much as the day;
--      watchlist.label_outcomes() called by hand re-ranks the touched days at once.
--   7. watermark, carried state and the run's figures written.
-- Serialised with the event merge (its lock, to the end of the transaction): the merge
-- deletes and re-creates events, and a label for an event it deleted meanwhile would fail
-- the whole run on the foreign key.
CREATE OR REPLACE FUNCTION watchlist.label_outcomes_incremental(p_now timestamptz DEFAULT now())
RETURNS TABLE (candidates integer, written integer, uncovered integer, recomputed_events integer, watermark timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
SET jit = off
AS $$
DECLARE
    c_overlap   CONSTANT interval := watchlist_data.incremental_overlap();
    c_requantile CONSTANT interval := INTERVAL '1 hour';
    v_max_gap   interval := watchlist_data.setting('event_max_sample_gap')::interval;
    v_grace     interval := watchlist_data.setting('event_lookback')::interval;
    v_horizons  int[]    := watchlist_data.setting('outcome_horizons_min')::int[];
    v_longest   interval := watchlist_data.longest_horizon();
    v_shortest  interval := make_interval(mins => (SELECT min(x) FROM unnest(watchlist_data.setting('outcome_horizons_min')::int[]) AS x));
    v_reach     interval := watchlist_data.longest_horizon() + watchlist_data.setting('event_lookback')::interval;
    v_state     record;
    v_prev_now  timestamptz;
    v_due_after timestamptz;
    v_wm        timestamptz;
    v_from      timestamptz;
    v_to        timestamptz;
    v_since     timestamptz;
    v_seqscan   text;
    v_sort      text;
    v_lo        timestamptz;
    v_new_wm    timestamptz;
    v_late_ids  bigint[];
    v_changed   bigint[];
    v_pending   bigint[];
    v_pend_prev bigint[];
    v_pend_from timestamptz;
    v_pend_next timestamptz;
    v_recompute bigint[];
    v_first     boolean;
    v_days      timestamptz[];
    v_due_run   record;   -- counts of the newly due labels
    v_rest_run  record;   -- counts of the changed, late and still-waiting events
BEGIN
    PERFORM watchlist_data.take_job_lock('label_outcomes');
    PERFORM watchlist_data.take_job_lock('merge_events');
    DROP TABLE IF EXISTS pg_temp.wl_label_seen;
    SELECT s.watermark, s.last_run_at, l.prev_now, l.pending_event_ids, l.pending_from, l.ranks_days
      INTO v_state
      FROM watchlist_data.job_state AS s
      LEFT JOIN watchlist_data.label_job_state AS l ON l.job = s.job
     WHERE s.job = 'label_outcomes';
    v_wm := v_state.watermark;
    v_prev_now := v_state.prev_now;
    v_due_after := v_prev_now - c_overlap;
    -- plain values, not expressions, in the reads of watch_signal_raw: the planner leaves
    -- chunks outside them out of the plan and never locks them (see label_outcomes)
    v_from := p_now - v_reach;
    v_to := coalesce(v_prev_now, p_now);
    v_since := coalesce(v_wm - c_overlap, '-infinity');

    -- 1. late data (looked up before 2 and 3 write anything), and the new watermark, from
    --    one read of the rows ingested since the watermark (less the overlap), not two: with
    --    statistics on ingested_at the planner reads them through its index (0170; a few
    --    minutes of rows); no sequential scan of the look-back's millions either way.
    --    Grouped by hashing: misled by a new chunk's statistics the planner expects a few
    --    hundred rows and would sort thousands by two text columns.
    v_seqscan := current_setting('enable_seqscan');
    v_sort := current_setting('enable_sort');
    PERFORM set_config('enable_seqscan', 'off', true);
    PERFORM set_config('enable_sort', 'off', true);
    CREATE TEMP TABLE wl_label_seen ON COMMIT DROP AS
    SELECT r.exchange, r.symbol,
           min(r.ts) FILTER (WHERE r.ts <= v_to) AS min_ts, max(r.ts) FILTER (WHERE r.ts <= v_to) AS max_ts,
           max(r.ingested_at) FILTER (WHERE r.ts <= v_to) AS max_ing, max(r.ingested_at) AS all_ing
      FROM watchlist_data.watch_signal_raw AS r
     WHERE r.ts >= v_from AND r.ingested_at > v_since
     GROUP BY 1, 2;
    PERFORM set_config('enable_seqscan', v_seqscan, true);
    PERFORM set_config('enable_sort', v_sort, true);
    SELECT max(x.all_ing) INTO v_new_wm FROM wl_label_seen AS x;
    --    Late: labels computed before a row arrived whose window holds it. Labels are
    --    written once their horizon has passed, so only those whose window ends at or after
    --    the earliest such row (v_lo) can qualify: per horizon one entry_ts range of the
    --    (horizon_min, entry_ts) index (0013).
    SELECT min(x.min_ts) INTO v_lo FROM wl_label_seen AS x;
    IF v_wm IS NOT NULL AND v_lo IS NOT NULL THEN
        SELECT array_agg(DISTINCT o.event_id) INTO v_late_ids
          FROM unnest(v_horizons) AS h
         CROSS JOIN LATERAL (SELECT o1.event_id, o1.horizon_min, o1.computed_at FROM watchlist_data.future_outcome AS o1
                              WHERE o1.horizon_min = h AND o1.entry_ts >= v_lo - make_interval(mins => h)
                             OFFSET 0) AS o  -- one index range per horizon, not a join of every label
          JOIN watchlist_data.watch_signal_event AS e ON e.id = o.event_id AND e.signal_type IN ('A', 'B', 'C')
          JOIN wl_label_seen AS l ON l.exchange = e.exchange AND l.symbol = e.symbol
         WHERE l.min_ts IS NOT NULL
           AND l.max_ts >= e.entry_ts - v_max_gap AND l.min_ts <= e.entry_ts + make_interval(mins => o.horizon_min)
           AND o.computed_at <= l.max_ing;
    END IF;

    -- 2. newly due labels (everything on the first run)
    v_pend_prev := coalesce(v_state.pending_event_ids, '{}');
    v_pend_from := v_state.pending_from;
    v_first := NOT coalesce(v_state.ranks_days, false);
    SELECT 0 AS candidates, 0 AS written, 0 AS uncovered INTO v_rest_run;
    SELECT * INTO v_due_run FROM watchlist.label_outcomes(p_now, NULL, NULL, v_due_after, v_first);

    -- 3. events changed since the previous run that miss a due label
    IF v_state.last_run_at IS NOT NULL THEN
        SELECT array_agg(e.id) INTO v_changed
          FROM watchlist_data.watch_signal_event AS e
         WHERE e.updated_at >= v_state.last_run_at - c_overlap AND e.status = 'confirmed'
           AND e.entry_ts <= p_now - v_shortest
           AND EXISTS (SELECT 1 FROM unnest(v_horizons) AS h
                        WHERE e.entry_ts <= p_now - make_interval(mins => h)
                          AND NOT EXISTS (SELECT 1 FROM watchlist_data.future_outcome AS o
                                           WHERE o.event_id = e.id AND o.horizon_min = h OFFSET 0))
           AND NOT e.id = ANY (coalesce(v_late_ids, '{}'));
    END IF;

    -- 4. changed events and late data: all their due labels; events still waiting for data
    -- since before this run's window: only their horizons from the earliest waiting one on
    v_recompute := ARRAY(SELECT DISTINCT x FROM unnest(v_changed || v_late_ids) AS x);
    IF cardinality(v_recompute) > 0 THEN
        SELECT * INTO v_rest_run FROM watchlist.label_outcomes(p_now, v_recompute, NULL, NULL, v_first);
    END IF;
    v_pend_prev := ARRAY(SELECT x FROM unnest(v_pend_prev) AS x EXCEPT SELECT y FROM unnest(v_recompute) AS y);
    IF cardinality(v_pend_prev) > 0 THEN
        SELECT v_rest_run.candidates + x.candidates AS candidates, v_rest_run.written + x.written AS written, v_rest_run.uncovered + x.uncovered AS uncovered
          INTO v_rest_run FROM watchlist.label_outcomes(p_now, v_pend_prev, NULL, v_pend_from - INTERVAL '1 microsecond', v_first) AS x;
        v_recompute := v_recompute || v_pend_prev;
    END IF;

    -- 5. confirmed events with a due label still waiting for data that the next run's window
    -- (horizons due after this p_now less the overlap) will not cover, and the earliest such
    -- horizon: the next run looks at those again (a label waits at most the grace period)
    -- (per horizon one entry_ts range of the events whose horizon fell due in this run's
    -- window, plus the recomputed events at every horizon)
    SELECT array_agg(DISTINCT x.id), min(x.entry_ts + make_interval(mins => x.h)) INTO v_pending, v_pend_next
      FROM (
            SELECT e.id, e.entry_ts, e.status, h
              FROM watchlist_data.watch_signal_event AS e
             CROSS JOIN unnest(v_horizons) AS h
             WHERE e.id = ANY (v_recompute)
            UNION ALL
            SELECT y.id, y.entry_ts, y.status, h
              FROM unnest(v_horizons) AS h
             CROSS JOIN LATERAL (SELECT e.id, e.entry_ts, e.status FROM watchlist_data.watch_signal_event AS e
                                  WHERE e.entry_ts > coalesce(v_due_after, '-infinity') - make_interval(mins => h)
                                    AND e.entry_ts <= p_now - c_overlap - make_interval(mins => h)
                                 OFFSET 0) AS y
        ) AS x
     WHERE x.status = 'confirmed'
       AND x.entry_ts <= p_now - c_overlap - make_interval(mins => x.h)
       AND NOT EXISTS (SELECT 1 FROM watchlist_data.future_outcome AS o
                        WHERE o.event_id = x.id AND o.horizon_min = x.h OFFSET 0);

    -- 6. quintiles: on the first run label_outcomes ranked the days it touched; afterwards a
    -- day is ranked when it first receives labels, then at most hourly while it fills, and
    -- once more when it closes (its last horizon and the grace period have passed)
    IF NOT v_first THEN
        v_days := ARRAY(
            SELECT DISTINCT d FROM (
                SELECT g AS d FROM generate_series(date_trunc('day', v_due_after - v_longest, 'UTC'),
                                                   p_now, INTERVAL '24 hours') AS g
                UNION ALL
                SELECT date_trunc('day', e.entry_ts, 'UTC') FROM watchlist_data.watch_signal_event AS e
                 WHERE e.id = ANY (v_recompute)) AS x
             WHERE x.d + INTERVAL '24 hours' + v_reach <= p_now                        -- closed
                OR coalesce((SELECT r.ranked_at FROM watchlist_data.label_ranked_day AS r
                               WHERE r.day = (x.d AT TIME ZONE 'UTC')::date), '-infinity')
                   <= now() - c_requantile                                            -- filling
            UNION
            SELECT g FROM generate_series(date_trunc('day', v_prev_now - v_reach - INTERVAL '24 hours', 'UTC'),
                                          p_now - v_reach - INTERVAL '24 hours', INTERVAL '24 hours') AS g
             WHERE g + INTERVAL '24 hours' + v_reach > v_prev_now);                  -- closed since the last run
        IF cardinality(v_days) > 0 THEN
            WITH q AS (
                SELECT o.id, ntile(5) OVER (PARTITION BY o.horizon_min, dd.d ORDER BY o.pnl, o.event_id) AS quintile
                  FROM unnest(v_days) AS dd(d)
                  JOIN watchlist_data.watch_signal_event AS e ON e.entry_ts >= dd.d AND e.entry_ts < dd.d + INTERVAL '24 hours'
                  JOIN watchlist_data.future_outcome AS o ON o.event_id = e.id
                 WHERE o.covered
            )
            UPDATE watchlist_data.future_outcome AS o SET label = o.label || jsonb_build_object('quantile', q.quintile)
              FROM q WHERE q.id = o.id AND (o.label -> 'quantile') IS DISTINCT FROM to_jsonb(q.quintile);
        END IF;
        -- remember when each open day was ranked; closed days are done
        DELETE FROM watchlist_data.label_ranked_day AS r
         WHERE r.day + INTERVAL '24 hours' + v_reach <= p_now AT TIME ZONE 'UTC';
        INSERT INTO watchlist_data.label_ranked_day AS r (day, ranked_at)
        SELECT (d AT TIME ZONE 'UTC')::date, now() FROM unnest(v_days) AS d
         WHERE d + INTERVAL '24 hours' + v_reach > p_now
        ON CONFLICT (day) DO UPDATE SET ranked_at = EXCLUDED.ranked_at;
    ELSE
        DELETE FROM watchlist_data.label_ranked_day;   -- a first run ranked what it touched
    END IF;

    -- 7. watermark, carried state, the run's figures

    watermark := coalesce(greatest(v_wm, v_new_wm), '-infinity');
    candidates := v_due_run.candidates + v_rest_run.candidates;
    written := v_due_run.written + v_rest_run.written;
    uncovered := v_due_run.uncovered + v_rest_run.uncovered;
    recomputed_events := coalesce(cardinality(v_late_ids), 0);
    INSERT INTO watchlist_data.job_state AS s (job, watermark, last_run_at, last_stats)
    VALUES ('label_outcomes', watermark, now(),
            jsonb_build_object('candidates', candidates, 'written', written, 'uncovered', uncovered,
                               'recomputed_events', recomputed_events, 'changed_events', coalesce(cardinality(v_changed), 0)))
    ON CONFLICT (job) DO UPDATE
       SET watermark = EXCLUDED.watermark, last_run_at = EXCLUDED.last_run_at, last_stats = EXCLUDED.last_stats;
    INSERT INTO watchlist_data.label_job_state AS l (job, prev_now, pending_event_ids, pending_from, ranks_days)
    VALUES ('label_outcomes', p_now, coalesce(v_pending, '{}'), v_pend_next, true)
    ON CONFLICT (job) DO UPDATE
       SET prev_now = EXCLUDED.prev_now, pending_event_ids = EXCLUDED.pending_event_ids,
           pending_from = EXCLUDED.pending_from, ranks_days = EXCLUDED.ranks_days;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION watchlist.label_outcomes_incremental(timestamptz) FROM PUBLIC;
