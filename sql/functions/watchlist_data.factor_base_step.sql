-- watchlist_data.factor_base_step(p_first, p_last, p_keys): step 1 of
-- watchlist_data.compute_factors_keys. Upserts the base (b_* columns) of the rows of
-- watchlist_data.factor_value at the bucket ends t in [p_first, p_last] (both on the 5-minute
-- grid), with the factors that need only the bucket [t - 5 min, t): funding_term_slope,
-- oi_to_volume, perp_oi_dominance, hour_of_day, session (formulas: the column comments of
-- sql/0020_factor_value.sql).
--   in:  watchlist_data.watch_signal_raw rows in [p_first - 5 min, p_last), of every key (p_keys
--        NULL) or of the keys in p_keys (a jsonb array of [exchange, symbol]);
--   out: one row per key and bucket end with raw rows (computed_at = now()); returns their count.
--   invariant: a row at t is written from raw rows before t only (late rows included: the
--        bucket is aggregated again), so running it twice gives the same rows. The windowed
--        factors of an upserted row keep their old values until steps 2.3-2.7 run for t.
CREATE OR REPLACE FUNCTION watchlist_data.factor_base_step(p_first timestamptz, p_last timestamptz, p_keys jsonb)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- The raw read is bounded by plain values, planned for them (custom plans): chunks outside the
-- window stay out of the plan and are never locked (a lock on a chunk the retention policy is
-- dropping deadlocks it).
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    c_step CONSTANT interval := INTERVAL '5 minutes';
    v_base timestamptz := p_first - c_step;   -- the first bucket's start
    v_last timestamptz := p_last;
    v_n    bigint;
BEGIN
    WITH keys AS (
        SELECT k ->> 0 AS exchange, k ->> 1 AS symbol FROM jsonb_array_elements(p_keys) AS k
    ), b AS (
        SELECT r.exchange, r.symbol, @extschema@.time_bucket(c_step, r.ts) + c_step AS t,
               count(*)::integer                                              AS n_rows,
               @extschema@.last(r.triggered, r.ts)                                        AS trig,
               @extschema@.last(r.spread_rel, r.ts) FILTER (WHERE r.spread_rel IS NOT NULL) AS x,
               max(r.spread_rel) AS hi, min(r.spread_rel) AS lo,
               count(r.spread_rel)::integer AS sn, sum(r.spread_rel) AS ss, var_pop(r.spread_rel) * count(r.spread_rel) AS m2,
               @extschema@.last(r.funding_rate, r.ts) FILTER (WHERE r.funding_rate IS NOT NULL) AS f,
               @extschema@.last(r.volume_quote, r.ts) FILTER (WHERE r.volume_quote IS NOT NULL) AS v,
               @extschema@.last(r.meta, r.ts) AS meta
          FROM watchlist_data.watch_signal_raw AS r
         WHERE r.ts >= v_base AND r.ts < v_last
           AND (p_keys IS NULL OR (r.exchange, r.symbol) IN (SELECT keys.exchange, keys.symbol FROM keys))
         GROUP BY 1, 2, 3
    ), m AS (
        SELECT b.*, x.term_slope, x.oi_vol, x.dom
          FROM b
         CROSS JOIN LATERAL (
            SELECT regr_slope(watchlist_data.jsonb_float8(e -> 'funding_rate'), watchlist_data.jsonb_float8(e -> 'funding_interval_hours'))
                       FILTER (WHERE watchlist_data.jsonb_float8(e -> 'funding_rate') IS NOT NULL
                                 AND watchlist_data.jsonb_float8(e -> 'funding_interval_hours') IS NOT NULL) AS term_slope,
                   sum(watchlist_data.jsonb_float8(e -> 'oi_usd')) FILTER (WHERE e ->> 'kind' = 'perp' AND watchlist_data.jsonb_float8(e -> 'oi_usd') IS NOT NULL
                                                          AND watchlist_data.jsonb_float8(e -> 'volume_24h_quote') IS NOT NULL)
                     / nullif(sum(watchlist_data.jsonb_float8(e -> 'volume_24h_quote')) FILTER (WHERE e ->> 'kind' = 'perp'
                                 AND watchlist_data.jsonb_float8(e -> 'oi_usd') IS NOT NULL AND watchlist_data.jsonb_float8(e -> 'volume_24h_quote') IS NOT NULL), 0) AS oi_vol,
                   sum(watchlist_data.jsonb_float8(e -> 'oi_usd')) FILTER (WHERE e ->> 'kind' = 'perp' AND watchlist_data.jsonb_float8(e -> 'oi_usd') IS NOT NULL
                                                          AND e ->> 'name' = b.exchange)
                     / nullif(sum(watchlist_data.jsonb_float8(e -> 'oi_usd')) FILTER (WHERE e ->> 'kind' = 'perp'
                                                                     AND watchlist_data.jsonb_float8(e -> 'oi_usd') IS NOT NULL), 0) AS dom
              FROM jsonb_array_elements(CASE WHEN jsonb_typeof(b.meta -> 'exchanges') = 'array'
                                             THEN b.meta -> 'exchanges' ELSE '[]'::jsonb END) AS e
             WHERE jsonb_typeof(e) = 'object') AS x
    )
    INSERT INTO watchlist_data.factor_value AS fv (
        ts, exchange, symbol, computed_at, b_n_rows, b_on_hour, b_triggered_last, b_spread_close, b_spread_high, b_spread_low,
        b_spread_n, b_spread_sum, b_spread_m2, b_funding_close, b_volume_close,
        funding_term_slope, oi_to_volume, perp_oi_dominance, hour_of_day, session)
    SELECT m.t, m.exchange, m.symbol, now(), m.n_rows, extract(epoch FROM m.t) % 3600 = 0, m.trig, m.x, m.hi, m.lo, m.sn, m.ss, m.m2, m.f, m.v,
           m.term_slope, m.oi_vol, m.dom, hod.h,
           CASE WHEN hod.h >= 8 AND hod.h < 14 THEN 1 WHEN hod.h >= 14 AND hod.h < 22 THEN 2 ELSE 0 END
      FROM m CROSS JOIN LATERAL (SELECT extract(hour FROM (m.t - c_step) AT TIME ZONE 'UTC')::float8 AS h) AS hod
    ON CONFLICT (exchange, symbol, ts) DO UPDATE SET
        computed_at = EXCLUDED.computed_at, b_n_rows = EXCLUDED.b_n_rows, b_triggered_last = EXCLUDED.b_triggered_last,
        b_spread_close = EXCLUDED.b_spread_close, b_spread_high = EXCLUDED.b_spread_high,
        b_spread_low = EXCLUDED.b_spread_low, b_spread_n = EXCLUDED.b_spread_n, b_spread_sum = EXCLUDED.b_spread_sum,
        b_spread_m2 = EXCLUDED.b_spread_m2, b_funding_close = EXCLUDED.b_funding_close,
        b_volume_close = EXCLUDED.b_volume_close, funding_term_slope = EXCLUDED.funding_term_slope,
        oi_to_volume = EXCLUDED.oi_to_volume, perp_oi_dominance = EXCLUDED.perp_oi_dominance,
        hour_of_day = EXCLUDED.hour_of_day, session = EXCLUDED.session;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    RETURN v_n;
END
$$;
REVOKE ALL ON FUNCTION watchlist_data.factor_base_step(timestamptz, timestamptz, jsonb) FROM PUBLIC;
