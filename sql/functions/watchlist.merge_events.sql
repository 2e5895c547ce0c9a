-- watchlist.merge_events(p_from, p_to, p_now, p_since): merge triggered raw samples into
-- events (gaps and islands), exactly and idempotently, for every (exchange, symbol,
-- signal_type) with raw rows in [p_from, p_to) (and, when p_since is given, ingested after
-- p_since). The incremental job calls it through watchlist.merge_events_incremental().
--
-- Rules (settings: N = event_min_minutes, M = event_cooldown_minutes,
--        H = event_max_sample_gap):
--   * A key's samples are its raw rows, in ts order; a sample is triggered or not.
--   * Off time: the signal counts as off from the first untriggered sample after a
--     triggered one, or from the last sample before a hole in the data (two consecutive
--     samples more than H apart: the unknown stretch counts as off), whichever is first.
--   * Gap between two consecutive triggered samples = the off time between them
--     (0 when every sample between them is triggered and no hole lies between).
--     Gap <= M: same event; gap > M: the later sample starts a new event.
--     So at 1-minute sampling, 3 untriggered minutes (gap = M) keep the event, 4 split it;
--     at 30 s the same in minutes; at 5-minute sampling one untriggered sample is already
--     5 minutes off, while consecutive triggered samples always stay together.
--   * start_ts = first triggered sample, end_ts = LAST TRIGGERED SAMPLE (not the end of the
--     cooldown), duration_sec = end_ts - start_ts, n_samples = triggered samples in it.
--   * An event reaches N when end_ts - start_ts >= N - 1 minutes ("it lasted N minutes,
--     counting the minute of its last sample": N consecutive samples at 1-minute sampling,
--     2N - 1 at 30 s, two consecutive samples at 5 minutes; a single sample never, for N >= 2).
--   * is_open: the event could still be extended: no later triggered run, and the key's
--     latest sample is less than M after the off time began (or no off sample yet), and
--     the key was not silent for the whole look-back before p_now. Closed otherwise.
--   * status: 'confirmed' once it reached N (open or closed); 'new' while open and short
--     of N; 'dropped' when closed short of N. Runs short of N are kept, as 'new'/'dropped',
--     so research can see the signals that did not last; labels and IC use 'confirmed'.
--   * features_agg: {column: {first, last, mean, min, max}} of the core scalars over the
--     event's triggered samples, plus pairs_top / funding_diff_top first and last snapshots.
-- Mechanics: each touched key is recomputed from the start of the earliest stored event it
-- could join (events ending within M + H before its earliest touched row) to the end of
-- its data; stored events of the key from there on are reconciled with the result by
-- natural key (exchange, symbol, signal_type, start_ts): unchanged rows are not touched,
-- so re-running any window changes nothing; ids survive extensions. Serialised by an
-- advisory lock. Reads compressed chunks like any other.
CREATE OR REPLACE FUNCTION watchlist.merge_events(
    p_from  timestamptz,
    p_to    timestamptz DEFAULT 'infinity',
    p_now   timestamptz DEFAULT now(),
    p_since timestamptz DEFAULT NULL)
RETURNS TABLE (keys integer, samples bigint, inserted integer, updated integer, deleted integer,
               open_events integer, watermark timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET work_mem = '64MB'
AS $$
DECLARE
    v_n        interval := make_interval(mins => greatest(watchlist_data.setting('event_min_minutes')::int - 1, 0));
    v_m        interval := make_interval(mins => watchlist_data.setting('event_cooldown_minutes')::int);
    v_h        interval := watchlist_data.setting('event_max_sample_gap')::interval;
    v_lookback interval := watchlist_data.setting('event_lookback')::interval;
    v_min_from timestamptz;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('watchlist-db:merge_events'));

    DROP TABLE IF EXISTS pg_temp.wl_merge_keys, pg_temp.wl_merge_samples, pg_temp.wl_merge_new;

    -- 1. Touched keys and the earliest touched sample of each.
    CREATE TEMP TABLE wl_merge_keys ON COMMIT DROP AS
    SELECT r.exchange, r.symbol, r.signal_type, min(r.ts) AS min_ts, max(r.ingested_at) AS max_ingested,
           NULL::timestamptz AS r_from
      FROM watchlist_data.watch_signal_raw AS r
     WHERE r.ts >= p_from AND r.ts < p_to AND (p_since IS NULL OR r.ingested_at > p_since)
     GROUP BY 1, 2, 3;
    SELECT count(*)::integer, max(k.max_ingested) INTO keys, watermark FROM wl_merge_keys AS k;

    -- 2. Recompute from the start of the earliest event each key's new rows could join.
    UPDATE wl_merge_keys AS k
       SET r_from = least(k.min_ts, (SELECT min(e.start_ts) FROM watchlist_data.watch_signal_event AS e
                                      WHERE e.exchange = k.exchange AND e.symbol = k.symbol
                                        AND e.signal_type = k.signal_type AND e.end_ts >= k.min_ts - (v_m + v_h)));
    SELECT min(k.r_from) INTO v_min_from FROM wl_merge_keys AS k;
    ANALYZE wl_merge_keys;

    CREATE TEMP TABLE wl_merge_samples ON COMMIT DROP AS
    SELECT r.exchange, r.symbol, r.signal_type, r.ts, r.triggered,
           r.spread_rel, r.funding_rate, r.volatility, r.range_1h, r.range_12h, r.slope_3m, r.crossings_1h,
           r.drift_ratio, r.sweep_impact, r.best_buy_high_sell_low, r.best_sell_high_buy_low, r.volume_quote,
           r.book_imbalance, r.funding_diff_max, r.spread_zscore_1h,
           r.meta -> 'pairs_top' AS pairs_top, r.meta -> 'funding_diff_top' AS funding_diff_top
      FROM wl_merge_keys AS k
      JOIN watchlist_data.watch_signal_raw AS r
        ON r.exchange = k.exchange AND r.symbol = k.symbol AND r.signal_type = k.signal_type AND r.ts >= k.r_from
     WHERE r.ts >= v_min_from;
    SELECT count(*) INTO samples FROM wl_merge_samples;

    -- 3. Gaps and islands.
    CREATE TEMP TABLE wl_merge_new ON COMMIT DROP AS
    WITH marked AS (
        -- off_mark: the earliest instant this row proves the signal off since the previous row
        SELECT s.*,
               CASE WHEN s.ts - lag(s.ts) OVER w > v_h THEN lag(s.ts) OVER w
                    WHEN NOT s.triggered THEN s.ts END                        AS off_mark,
               -- segment: rows after the k-th triggered sample, up to and including the next one
               coalesce(sum(s.triggered::int) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS seg
          FROM wl_merge_samples AS s
        WINDOW w AS (PARTITION BY s.exchange, s.symbol, s.signal_type ORDER BY s.ts)
    ), segs AS (
        SELECT m.*,
               min(m.off_mark) OVER (PARTITION BY m.exchange, m.symbol, m.signal_type, m.seg) AS seg_off_start,
               max(m.ts) OVER (PARTITION BY m.exchange, m.symbol, m.signal_type) AS key_last_ts
          FROM marked AS m
    ), runs AS (
        SELECT g.*,
               sum(CASE WHEN g.seg = 0 OR (g.seg_off_start IS NOT NULL AND g.ts - g.seg_off_start > v_m) THEN 1 ELSE 0 END)
                   OVER (PARTITION BY g.exchange, g.symbol, g.signal_type ORDER BY g.ts) AS run_no
          FROM segs AS g
         WHERE g.triggered
    ), tails AS (
        -- off start after each run's last sample (segment following it), and whether a
        -- later triggered sample exists
        SELECT DISTINCT ON (g.exchange, g.symbol, g.signal_type, g.seg)
               g.exchange, g.symbol, g.signal_type, g.seg, g.seg_off_start, g.key_last_ts
          FROM segs AS g
    ), events AS (
        SELECT r.exchange, r.symbol, r.signal_type, r.run_no,
               min(r.ts) AS start_ts, max(r.ts) AS end_ts, count(*)::integer AS n_samples,
               max(r.seg) + 1 AS next_seg, max(r.key_last_ts) AS key_last_ts,
               (array_agg(r.pairs_top ORDER BY r.ts) FILTER (WHERE r.pairs_top IS NOT NULL))[1] AS pairs_first,
               (array_agg(r.pairs_top ORDER BY r.ts DESC) FILTER (WHERE r.pairs_top IS NOT NULL))[1] AS pairs_last,
               (array_agg(r.funding_diff_top ORDER BY r.ts) FILTER (WHERE r.funding_diff_top IS NOT NULL))[1] AS fdiff_first,
               (array_agg(r.funding_diff_top ORDER BY r.ts DESC) FILTER (WHERE r.funding_diff_top IS NOT NULL))[1] AS fdiff_last
          FROM runs AS r
         GROUP BY 1, 2, 3, 4
    ), features_by_run AS (
        SELECT x.exchange, x.symbol, x.signal_type, x.run_no,
               jsonb_strip_nulls(jsonb_object_agg(x.name, x.stats)) AS agg
          FROM (SELECT r.exchange, r.symbol, r.signal_type, r.run_no, f.name,
                       jsonb_build_object(
                           'first', (array_agg(f.val ORDER BY r.ts) FILTER (WHERE f.val IS NOT NULL))[1],
                           'last',  (array_agg(f.val ORDER BY r.ts DESC) FILTER (WHERE f.val IS NOT NULL))[1],
                           'mean',  avg(f.val), 'min', min(f.val), 'max', max(f.val)) AS stats
                  FROM runs AS r
                 CROSS JOIN LATERAL (VALUES
                       ('spread_rel', r.spread_rel), ('funding_rate', r.funding_rate), ('volatility', r.volatility),
                       ('range_1h', r.range_1h), ('range_12h', r.range_12h), ('slope_3m', r.slope_3m),
                       ('crossings_1h', r.crossings_1h::float8), ('drift_ratio', r.drift_ratio), ('sweep_impact', r.sweep_impact),
                       ('best_buy_high_sell_low', r.best_buy_high_sell_low), ('best_sell_high_buy_low', r.best_sell_high_buy_low),
                       ('volume_quote', r.volume_quote), ('book_imbalance', r.book_imbalance),
                       ('funding_diff_max', r.funding_diff_max), ('spread_zscore_1h', r.spread_zscore_1h)) AS f(name, val)
                 WHERE f.val IS NOT NULL
                 GROUP BY r.exchange, r.symbol, r.signal_type, r.run_no, f.name) AS x
         GROUP BY 1, 2, 3, 4
    )
    SELECT e.exchange, e.symbol, e.signal_type, e.start_ts, e.end_ts,
           extract(epoch FROM e.end_ts - e.start_ts)::integer AS duration_sec,
           e.n_samples,
           coalesce(fr.agg, '{}'::jsonb) || jsonb_strip_nulls(jsonb_build_object(
               'pairs_top_first', e.pairs_first, 'pairs_top_last', e.pairs_last,
               'funding_diff_top_first', e.fdiff_first, 'funding_diff_top_last', e.fdiff_last)) AS features_agg,
           (e.end_ts - e.start_ts >= v_n) AS reached,
           NOT (lead(e.run_no) OVER (PARTITION BY e.exchange, e.symbol, e.signal_type ORDER BY e.run_no) IS NOT NULL
                OR coalesce(e.key_last_ts - t.seg_off_start >= v_m, false)
                OR p_now - e.key_last_ts > v_lookback) AS is_open
      FROM events AS e
      LEFT JOIN tails AS t ON t.exchange = e.exchange AND t.symbol = e.symbol AND t.signal_type = e.signal_type AND t.seg = e.next_seg
      LEFT JOIN features_by_run AS fr ON fr.exchange = e.exchange AND fr.symbol = e.symbol AND fr.signal_type = e.signal_type AND fr.run_no = e.run_no;

    -- 4. Reconcile with the stored events of the touched keys.
    ANALYZE wl_merge_new;
    WITH gone AS (
        DELETE FROM watchlist_data.watch_signal_event AS e
         USING wl_merge_keys AS k
         WHERE e.exchange = k.exchange AND e.symbol = k.symbol AND e.signal_type = k.signal_type
           AND e.start_ts >= k.r_from
           AND NOT EXISTS (SELECT 1 FROM wl_merge_new AS n
                            WHERE n.exchange = e.exchange AND n.symbol = e.symbol
                              AND n.signal_type = e.signal_type AND n.start_ts = e.start_ts)
        RETURNING 1
    )
    SELECT count(*)::integer INTO deleted FROM gone;

    WITH up AS (
        INSERT INTO watchlist_data.watch_signal_event AS e
               (exchange, symbol, signal_type, start_ts, end_ts, duration_sec, n_samples, features_agg, reason, status, is_open)
        SELECT n.exchange, n.symbol, n.signal_type, n.start_ts, n.end_ts, n.duration_sec, n.n_samples, n.features_agg,
               format('%s triggered sample(s) over %s s; N = %s min, M = %s', n.n_samples, n.duration_sec,
                      extract(epoch FROM v_n) / 60 + 1, v_m),
               CASE WHEN n.reached THEN 'confirmed' WHEN n.is_open THEN 'new' ELSE 'dropped' END,
               n.is_open
          FROM wl_merge_new AS n
        ON CONFLICT (exchange, symbol, signal_type, start_ts) DO UPDATE
           SET end_ts = EXCLUDED.end_ts, duration_sec = EXCLUDED.duration_sec, n_samples = EXCLUDED.n_samples,
               features_agg = EXCLUDED.features_agg, reason = EXCLUDED.reason, status = EXCLUDED.status,
               is_open = EXCLUDED.is_open, updated_at = now()
         WHERE (e.end_ts, e.n_samples, e.features_agg, e.reason, e.status, e.is_open)
               IS DISTINCT FROM (EXCLUDED.end_ts, EXCLUDED.n_samples, EXCLUDED.features_agg, EXCLUDED.reason, EXCLUDED.status, EXCLUDED.is_open)
        RETURNING (xmax = 0) AS is_insert
    )
    SELECT count(*) FILTER (WHERE is_insert)::integer, count(*) FILTER (WHERE NOT is_insert)::integer
      INTO inserted, updated FROM up;

    -- 5. Keys silent for the whole look-back: their open events can no longer be extended.
    WITH closed AS (
        UPDATE watchlist_data.watch_signal_event AS e
           SET is_open = false, status = CASE WHEN e.status = 'new' THEN 'dropped' ELSE e.status END, updated_at = now()
         WHERE e.is_open AND e.end_ts < p_now - v_lookback
           AND NOT EXISTS (SELECT 1 FROM wl_merge_keys k
                            WHERE k.exchange = e.exchange AND k.symbol = e.symbol AND k.signal_type = e.signal_type)
        RETURNING 1
    )
    SELECT updated + count(*)::integer INTO updated FROM closed;

    SELECT count(*)::integer INTO open_events FROM watchlist_data.watch_signal_event AS e WHERE e.is_open;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION watchlist.merge_events(timestamptz, timestamptz, timestamptz, timestamptz) FROM PUBLIC;
