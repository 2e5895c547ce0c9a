-- watchlist.label_outcomes_incremental(p_now): the outcome job's unit of work.
--   1. labels every confirmed (event, horizon) whose horizon has passed and is not labelled;
--   2. recomputes the labels of events whose windows [start - max sample gap, start +
--      horizon] received raw rows ingested since the last run (late data), found through
--      the ingestion watermark in watchlist_data.job_state (less
--      watchlist_data.incremental_overlap()), among rows no older than the longest horizon
--      (watchlist_data.longest_horizon()) plus the merge look-back.
-- Watermark and labels are written in one transaction.
CREATE OR REPLACE FUNCTION watchlist.label_outcomes_incremental(p_now timestamptz DEFAULT now())
RETURNS TABLE (candidates integer, written integer, uncovered integer, recomputed_events integer, watermark timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_sample_gap      interval := watchlist_data.setting('event_max_sample_gap')::interval;
    v_reach           interval := watchlist_data.longest_horizon() + watchlist_data.setting('event_lookback')::interval;
    v_wm              timestamptz;
    v_new_wm          timestamptz;
    v_late_event_ids  bigint[];
    v_pending         record;
    v_late_candidates integer := 0;
    v_late_written    integer := 0;
    v_late_uncovered  integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('watchlist-db:label_outcomes'));
    SELECT s.watermark INTO v_wm FROM watchlist_data.job_state AS s WHERE s.job = 'label_outcomes';

    WITH late AS (
        SELECT r.exchange, r.symbol, min(r.ts) AS min_ts, max(r.ts) AS max_ts, max(r.ingested_at) AS max_ing
          FROM watchlist_data.watch_signal_raw AS r
         WHERE r.ts >= p_now - v_reach AND r.ingested_at > coalesce(v_wm - watchlist_data.incremental_overlap(), '-infinity')
         GROUP BY 1, 2
    )
    SELECT (SELECT max(l.max_ing) FROM late AS l),
           (SELECT array_agg(DISTINCT o.event_id)
              FROM late AS l
              JOIN watchlist_data.watch_signal_event AS e ON e.exchange = l.exchange AND e.symbol = l.symbol
              JOIN watchlist_data.future_outcome AS o ON o.event_id = e.id
             WHERE v_wm IS NOT NULL
               AND l.max_ts >= e.start_ts - v_sample_gap AND l.min_ts <= e.start_ts + make_interval(mins => o.horizon_min))
      INTO v_new_wm, v_late_event_ids;

    -- Pending labels: events that started after the previous run's reach (its p_now minus
    -- the longest horizon, the grace period and a day of slack); the first run scans all.
    SELECT * INTO v_pending FROM watchlist.label_outcomes(p_now, NULL,
        (SELECT (s.last_stats ->> 'p_now')::timestamptz - v_reach - INTERVAL '1 day'
           FROM watchlist_data.job_state AS s WHERE s.job = 'label_outcomes'));
    IF v_late_event_ids IS NOT NULL THEN
        SELECT x.candidates, x.written, x.uncovered INTO v_late_candidates, v_late_written, v_late_uncovered
          FROM watchlist.label_outcomes(p_now, v_late_event_ids) AS x;
    END IF;

    watermark := coalesce(greatest(v_wm, v_new_wm), '-infinity');
    candidates := v_pending.candidates + v_late_candidates;
    written := v_pending.written + v_late_written;
    uncovered := v_pending.uncovered + v_late_uncovered;
    recomputed_events := coalesce(cardinality(v_late_event_ids), 0);
    INSERT INTO watchlist_data.job_state AS s (job, watermark, last_run_at, last_stats)
    VALUES ('label_outcomes', watermark, now(),
            jsonb_build_object(
                'candidates', candidates,
                'written', written,
                'uncovered', uncovered,
                'recomputed_events', recomputed_events,
                'p_now', p_now))
    ON CONFLICT (job) DO UPDATE
       SET watermark = EXCLUDED.watermark, last_run_at = EXCLUDED.last_run_at, last_stats = EXCLUDED.last_stats;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION watchlist.label_outcomes_incremental(timestamptz) FROM PUBLIC;
