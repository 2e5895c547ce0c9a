-- watchlist.walk_forward_folds(from, to, folds, period, scheme, signal_type, exchange): the
-- fold membership of the factor lab's walk-forward evaluation (watchlist.factor_walk_forward),
-- one row per test fold x covered label (event x horizon) that the test fold uses or drops.
-- Folds: the periods of [from, to) (UTC time_bucket(period, ...), the factor lab's periods, so
-- no period is split) are cut into `folds` contiguous groups of equal size as near as may be:
-- period i (0-based, from the bucket of `from`) of P is in fold floor(i * folds / P); fold j
-- spans [test_from, test_to) (its first period's start, clamped to [from, to)). A label is in
-- the fold of its entry_ts; its outcome window is [entry_ts, entry_ts + horizon] (label_end).
-- Schemes:
--   anchored  walk-forward with an expanding, past-only training set: test folds 1 .. folds-1;
--             training = the earlier folds. role 'purged': an earlier label whose outcome window
--             reaches the test fold (label_end >= test_from). Nothing after the test fold trains
--             it, so no label is embargoed; later folds are not listed.
--   kfold     purged k-fold cross-validation: every fold is a test fold once, trained on all the
--             others. 'purged': an outcome window that overlaps [test_from, test_to) (entry_ts <
--             test_to and label_end >= test_from); 'embargoed': entry_ts in [test_to, test_to +
--             the longest horizon of the setting outcome_horizons_min), labels whose information
--             overlaps the test labels' outcome windows, which run up to that long past test_to.
-- role 'test': the test fold's own labels; 'train': the rest listed. In both schemes no
-- training outcome window overlaps its test fold or any test label's outcome window.
-- Only confirmed events with covered labels, entered in [from, to), optionally of one signal
-- type / exchange. Raises on folds < 2, an unknown scheme, a period that is not positive, or
-- fewer periods than folds.
CREATE OR REPLACE FUNCTION watchlist.walk_forward_folds(
    p_from timestamptz, p_to timestamptz, p_folds integer DEFAULT 5, p_period interval DEFAULT '1 day',
    p_scheme text DEFAULT 'anchored', p_signal_type text DEFAULT NULL, p_exchange text DEFAULT NULL)
RETURNS TABLE (test_fold integer, test_from timestamptz, test_to timestamptz, event_id bigint, horizon_min integer,
               entry_ts timestamptz, label_end timestamptz, fold integer, role text)
LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 100000
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_ps      double precision := extract(epoch FROM p_period);
    v_first   timestamptz;
    v_np      integer;
    v_embargo interval;
BEGIN
    PERFORM watchlist_data.check_read_span('walk_forward_folds', p_from, p_to);
    IF p_period IS NULL OR v_ps <= 0 THEN
        RAISE EXCEPTION 'walk_forward_folds: the period must be a positive interval (got %)', p_period
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_folds IS NULL OR p_folds < 2 THEN
        RAISE EXCEPTION 'walk_forward_folds: folds must be at least 2 (got %)', p_folds
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_scheme IS NULL OR p_scheme NOT IN ('anchored', 'kfold') THEN
        RAISE EXCEPTION 'walk_forward_folds: unknown scheme "%" (anchored, kfold)', p_scheme
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
        RAISE EXCEPTION 'walk_forward_folds: empty window [%, %)', p_from, p_to
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_first := @extschema@.time_bucket(p_period, p_from);
    v_np := floor((extract(epoch FROM @extschema@.time_bucket(p_period, p_to - interval '1 microsecond'))
                   - extract(epoch FROM v_first)) / v_ps)::integer + 1;
    IF v_np < p_folds THEN
        RAISE EXCEPTION 'walk_forward_folds: % period(s) of % in [%, %) cannot make % folds', v_np, p_period, p_from, p_to, p_folds
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT make_interval(mins => max(h)) INTO v_embargo
      FROM unnest(watchlist_data.setting('outcome_horizons_min')::integer[]) AS h;
    RETURN QUERY
    WITH f AS (
        SELECT g.j,
               greatest(p_from, v_first + make_interval(secs => ceil(g.j * v_np::numeric / p_folds) * v_ps)) AS lo,
               least(p_to, v_first + make_interval(secs => ceil((g.j + 1) * v_np::numeric / p_folds) * v_ps)) AS hi
          FROM generate_series(0, p_folds - 1) AS g(j)
    ), lab AS (
        SELECT e.id, o.horizon_min AS h, e.entry_ts AS t, e.entry_ts + make_interval(mins => o.horizon_min) AS te,
               floor((extract(epoch FROM @extschema@.time_bucket(p_period, e.entry_ts)) - extract(epoch FROM v_first)) / v_ps)::integer
                 * p_folds / v_np AS fj
          FROM watchlist_data.watch_signal_event AS e
          JOIN watchlist_data.future_outcome AS o ON o.event_id = e.id AND o.covered
         WHERE e.status = 'confirmed' AND e.entry_ts >= p_from AND e.entry_ts < p_to
           AND (p_signal_type IS NULL OR e.signal_type = p_signal_type)
           AND (p_exchange IS NULL OR e.exchange = p_exchange)
    ), r AS (
        SELECT f.j, f.lo, f.hi, lab.id, lab.h, lab.t, lab.te, lab.fj,
               CASE WHEN lab.fj = f.j THEN 'test'
                    WHEN lab.t < f.hi AND lab.te >= f.lo THEN 'purged'
                    WHEN p_scheme = 'kfold' AND lab.t >= f.hi AND lab.t < f.hi + v_embargo THEN 'embargoed'
                    ELSE 'train' END AS role
          FROM f CROSS JOIN lab
         WHERE (p_scheme = 'kfold' OR (f.j >= 1 AND lab.fj <= f.j))
    )
    SELECT r.j, r.lo, r.hi, r.id, r.h, r.t, r.te, r.fj, r.role
      FROM r ORDER BY r.j, r.t, r.id, r.h;
END
$$;
REVOKE ALL ON FUNCTION watchlist.walk_forward_folds(timestamptz, timestamptz, integer, interval, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.walk_forward_folds(timestamptz, timestamptz, integer, interval, text, text, text) TO wl_reader;
