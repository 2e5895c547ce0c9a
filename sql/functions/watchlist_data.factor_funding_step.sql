-- watchlist_data.factor_funding_step(p_t): step 2.6 of watchlist_data.compute_factors_keys:
-- the 7-day funding window H(t, 7 d) (z-score, trend 3 d, vol, regime, reversal probability).
--   in:  pg_temp.wl_factor_cur (2.1: f_t); the row of factor_value at t_h, the full hour before
--        t, with the statistics kept on it (b_fstate_*, 0021); watchlist_data.factor_funding_state
--        (0060); for the keys with neither, their hourly rows of factor_value in (t - 7 d, t].
--   out: pg_temp.wl_factor_funding, one row per key of wl_factor_cur with statistics (the
--        table's columns below); watchlist_data.factor_funding_state written for the keys whose
--        samples it rolled (t on the full hour) or read from the rows.
--   invariant: between full hours H(t, 7 d) = H(t_h, 7 d), so a key takes the statistics kept
--        on the row at t_h; on the full hour the state of the hour before rolls (slot 1 out,
--        f_t in as slot 168); else the samples are read and summed. The sums are exact and the
--        sorted arrays the same multisets, so every way gives the same values.
CREATE OR REPLACE FUNCTION watchlist_data.factor_funding_step(p_t timestamptz)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- Every read of a hypertable is bounded by the parameters, planned for their values (custom
-- plans): chunks outside the windows stay out of the plan and are never locked (a lock on a
-- chunk the retention policy is dropping deadlocks it).
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_hour        timestamptz := @extschema@.time_bucket(INTERVAL '1 hour', p_t);  -- t_h, the full hour at or before t
    v_on_hour     boolean     := @extschema@.time_bucket(INTERVAL '1 hour', p_t) = p_t;
    v_hour_before timestamptz := @extschema@.time_bucket(INTERVAL '1 hour', p_t) - INTERVAL '1 hour';
    -- t_h in hours since the epoch: the k of the 3-day trend's regression
    v_hour_no     bigint      := (extract(epoch FROM @extschema@.time_bucket(INTERVAL '1 hour', p_t)) / 3600)::bigint;
    v_h7d_lo      timestamptz := p_t - INTERVAL '7 days';              -- H(t, 7 d) = hourly rows in (v_h7d_lo, t]
BEGIN
    -- the staged output, one row per key at t, kept until the caller's commit and emptied for
    -- each bucket end (a table created and dropped at every bucket end would hold its locks to
    -- the end of the transaction: a backfill would exhaust the lock table)
    IF to_regclass('pg_temp.wl_factor_funding') IS NULL THEN
        CREATE TEMP TABLE wl_factor_funding (
            exchange     text,
            symbol       text,
            from_samples boolean,             -- computed from the samples (else taken from the row at t_h)
            m            double precision,    -- mean of H(t_h, 7 d)
            sd           double precision,    -- its sd: funding_vol_7d
            n            integer,             -- its count
            trend        double precision,    -- funding_trend_3d
            rev          double precision,    -- funding_reversal_prob
            regime_q     integer,             -- the quintile of f_t (funding_regime when f_t is not NULL)
            q            double precision[]   -- the quintile thresholds
        ) ON COMMIT DROP;
    ELSE
        TRUNCATE pg_temp.wl_factor_funding;
    END IF;
        WITH kept_at_hour AS ( -- t between full hours: H(t, 7 d) = H(t_h, 7 d), kept on the row at t_h (0021)
            SELECT p.exchange, p.symbol, p.b_fstate_n AS n, p.b_fstate_mean AS m, p.b_fstate_q AS q,
                   p.funding_vol_7d AS sd, p.funding_trend_3d AS trend, p.funding_reversal_prob AS rev
              FROM watchlist_data.factor_value AS p
              JOIN pg_temp.wl_factor_cur AS cur ON cur.exchange = p.exchange AND cur.symbol = p.symbol
             WHERE p.ts = v_hour AND v_hour < p_t AND p.b_fstate_n IS NOT NULL
        ), need_samples AS ( -- the others (t on the hour, or no state at t_h): from the samples
            SELECT cur.exchange, cur.symbol, cur.f FROM pg_temp.wl_factor_cur AS cur
             WHERE NOT EXISTS (SELECT 1 FROM kept_at_hour WHERE kept_at_hour.exchange = cur.exchange AND kept_at_hour.symbol = cur.symbol)
        ), fstate AS ( -- their samples H(t_h, 7 d) and statistics (0060): kept (t between full hours), or the
                       -- state of the hour before (t on the hour: rolled below); else read from the rows
            SELECT need_samples.exchange, need_samples.symbol, need_samples.f AS fcur, s.f AS sf,
                   CASE WHEN s.ts = v_hour THEN 1 WHEN v_on_hour AND s.ts = v_hour_before THEN 2 ELSE 0 END AS how,  -- 1 kept, 2 rolled, 0 read
                   s.n, s.s1, s.s2, s.tn, s.tk, s.tkk, s.tf, s.tkf, s.np, s.srt, s.up, s.dn
              FROM need_samples
              LEFT JOIN watchlist_data.factor_funding_state AS s ON s.exchange = need_samples.exchange AND s.symbol = need_samples.symbol
        ), hourly_rows AS ( -- keys without such a state: the hourly rows of H(t, 7 d), slot i at t_h - (168 - i) h
            SELECT h.exchange, h.symbol, 168 - (extract(epoch FROM v_hour - h.ts) / 3600)::integer AS i, h.b_funding_close AS f
              FROM watchlist_data.factor_value AS h
              JOIN fstate ON fstate.exchange = h.exchange AND fstate.symbol = h.symbol AND fstate.how = 0
             WHERE h.ts > v_h7d_lo AND h.ts <= p_t AND h.b_funding_close IS NOT NULL AND h.b_on_hour
        ), hourly_read AS (
            SELECT hourly_rows.exchange, hourly_rows.symbol, array_agg(hourly_rows.i ORDER BY hourly_rows.i) AS ia, array_agg(hourly_rows.f ORDER BY hourly_rows.i) AS f_vals
              FROM hourly_rows GROUP BY 1, 2
        ), samples_read AS ( -- their 168 slots, and the statistics summed over them
            SELECT fstate.exchange, fstate.symbol, fstate.fcur, true AS fresh, x.arr, a.n, a.s1, a.s2, a.tn, a.tk, a.tkk, a.tf, a.tkf,
                   p.np, a.srt, p.up, p.dn
              FROM fstate
              LEFT JOIN hourly_read ON hourly_read.exchange = fstate.exchange AND hourly_read.symbol = fstate.symbol
             CROSS JOIN LATERAL (SELECT array_agg(u.f ORDER BY g.i) AS arr
                                   FROM generate_series(1, 168) AS g(i)
                                   LEFT JOIN unnest(hourly_read.ia, hourly_read.f_vals) AS u(i, f) ON u.i = g.i) AS x
             CROSS JOIN LATERAL (   -- k = the sample's hour since the epoch (slot i: v_hour_no - (168 - i)); each sample
                                    -- converted once (OFFSET 0 keeps the conversions out of the sums)
                SELECT count(u.f)::integer AS n, coalesce(sum(u.fn), 0) AS s1, coalesce(sum(u.fn * u.fn), 0) AS s2,
                       count(u.f) FILTER (WHERE u.i > 96)::integer AS tn,
                       coalesce(sum(u.k) FILTER (WHERE u.i > 96 AND u.f IS NOT NULL), 0) AS tk,
                       coalesce(sum(u.k * u.k) FILTER (WHERE u.i > 96 AND u.f IS NOT NULL), 0) AS tkk,
                       coalesce(sum(u.fn) FILTER (WHERE u.i > 96), 0) AS tf,
                       coalesce(sum(u.k * u.fn) FILTER (WHERE u.i > 96), 0) AS tkf,
                       coalesce(array_agg(u.f ORDER BY u.f) FILTER (WHERE u.f IS NOT NULL), '{}') AS srt
                  FROM (SELECT v.f, v.i, v.f::numeric AS fn, (v_hour_no - (168 - v.i))::numeric AS k
                          FROM unnest(x.arr) WITH ORDINALITY AS v(f, i) OFFSET 0) AS u) AS a
             CROSS JOIN LATERAL (   -- consecutive hourly pairs (h_b, h_{b+1h}): rising ones by -h_b, falling ones by h_b
                SELECT count(*)::integer AS np,
                       coalesce(array_agg(-u.pf ORDER BY -u.pf) FILTER (WHERE u.f > u.pf), '{}') AS up,
                       coalesce(array_agg(u.pf ORDER BY u.pf) FILTER (WHERE u.f < u.pf), '{}') AS dn
                  FROM unnest(x.arr, array_prepend(NULL::float8, x.arr[1:167])) AS u(f, pf)
                 WHERE u.f IS NOT NULL AND u.pf IS NOT NULL) AS p
             WHERE fstate.how = 0
        ), samples_rolled AS ( -- t on the hour, the state of the hour before rolled: slot 1 leaves, f_t enters as slot 168;
                               -- the 3 days lose old slot 97 (k = v_hour_no - 72), the pairs lose (slot 1, slot 2) and gain (slot 168, f_t);
                               -- each sorted array loses one value (array_position) and gains one (width_bucket: its place)
            SELECT fstate.exchange, fstate.symbol, fstate.fcur, false AS fresh, fstate.sf[2:168] || fstate.fcur AS arr,
                   fstate.n - (fstate.sf[1] IS NOT NULL)::int + (fstate.fcur IS NOT NULL)::int AS n,
                   fstate.s1 - coalesce(fstate.sf[1]::numeric, 0) + coalesce(fstate.fcur::numeric, 0) AS s1,
                   fstate.s2 - coalesce(fstate.sf[1]::numeric * fstate.sf[1]::numeric, 0) + coalesce(fstate.fcur::numeric * fstate.fcur::numeric, 0) AS s2,
                   fstate.tn - (fstate.sf[97] IS NOT NULL)::int + (fstate.fcur IS NOT NULL)::int AS tn,
                   fstate.tk - CASE WHEN fstate.sf[97] IS NOT NULL THEN (v_hour_no - 72)::numeric ELSE 0 END
                          + CASE WHEN fstate.fcur IS NOT NULL THEN v_hour_no::numeric ELSE 0 END AS tk,
                   fstate.tkk - CASE WHEN fstate.sf[97] IS NOT NULL THEN (v_hour_no - 72)::numeric * (v_hour_no - 72)::numeric ELSE 0 END
                           + CASE WHEN fstate.fcur IS NOT NULL THEN v_hour_no::numeric * v_hour_no::numeric ELSE 0 END AS tkk,
                   fstate.tf - coalesce(fstate.sf[97]::numeric, 0) + coalesce(fstate.fcur::numeric, 0) AS tf,
                   fstate.tkf - coalesce((v_hour_no - 72)::numeric * fstate.sf[97]::numeric, 0) + coalesce(v_hour_no::numeric * fstate.fcur::numeric, 0) AS tkf,
                   fstate.np - (fstate.sf[1] IS NOT NULL AND fstate.sf[2] IS NOT NULL)::int + (fstate.sf[168] IS NOT NULL AND fstate.fcur IS NOT NULL)::int AS np,
                   CASE WHEN ch.i_s IS NULL THEN rm.s ELSE rm.s[:width_bucket(ch.i_s, rm.s)] || ch.i_s || rm.s[width_bucket(ch.i_s, rm.s) + 1:] END AS srt,
                   CASE WHEN ch.i_u IS NULL THEN rm.u ELSE rm.u[:width_bucket(ch.i_u, rm.u)] || ch.i_u || rm.u[width_bucket(ch.i_u, rm.u) + 1:] END AS up,
                   CASE WHEN ch.i_d IS NULL THEN rm.d ELSE rm.d[:width_bucket(ch.i_d, rm.d)] || ch.i_d || rm.d[width_bucket(ch.i_d, rm.d) + 1:] END AS dn
              FROM fstate
             CROSS JOIN LATERAL (SELECT fstate.sf[1] AS r_s, fstate.fcur AS i_s,
                                        CASE WHEN fstate.sf[2] > fstate.sf[1] THEN -fstate.sf[1] END AS r_u,
                                        CASE WHEN fstate.fcur > fstate.sf[168] THEN -fstate.sf[168] END AS i_u,
                                        CASE WHEN fstate.sf[2] < fstate.sf[1] THEN fstate.sf[1] END AS r_d,
                                        CASE WHEN fstate.fcur < fstate.sf[168] THEN fstate.sf[168] END AS i_d) AS ch
             CROSS JOIN LATERAL (SELECT array_position(fstate.srt, ch.r_s) AS ps, array_position(fstate.up, ch.r_u) AS pu,
                                        array_position(fstate.dn, ch.r_d) AS pd) AS po
             CROSS JOIN LATERAL (SELECT CASE WHEN po.ps IS NULL THEN fstate.srt ELSE fstate.srt[:po.ps - 1] || fstate.srt[po.ps + 1:] END AS s,
                                        CASE WHEN po.pu IS NULL THEN fstate.up ELSE fstate.up[:po.pu - 1] || fstate.up[po.pu + 1:] END AS u,
                                        CASE WHEN po.pd IS NULL THEN fstate.dn ELSE fstate.dn[:po.pd - 1] || fstate.dn[po.pd + 1:] END AS d) AS rm
             WHERE fstate.how = 2
        ), samples AS ( -- every key's slots and statistics, the same either way
            SELECT * FROM samples_read
            UNION ALL
            SELECT * FROM samples_rolled
            UNION ALL
            SELECT fstate.exchange, fstate.symbol, fstate.fcur, false, fstate.sf, fstate.n, fstate.s1, fstate.s2, fstate.tn, fstate.tk, fstate.tkk, fstate.tf, fstate.tkf,
                   fstate.np, fstate.srt, fstate.up, fstate.dn
              FROM fstate WHERE fstate.how = 1
        ), funding AS ( -- mean, sd, the 3-day slope (x in days: 24 x the slope in hours), the quintile thresholds
                        -- s_ceil(k n / 5) of 0021 and the regime from them, the share of pairs moving toward the mean
                        -- (rising with h_b < m: h_b < m <=> -h_b > -m; falling with h_b > m); width_bucket(v, sorted) = #{<= v}
            SELECT samples.exchange, samples.symbol, true AS from_samples, st.m, st.sd, samples.n, st.trend,
                   CASE WHEN samples.np > 0 THEN ((cardinality(samples.up) - width_bucket(-st.m, samples.up))
                                               + (cardinality(samples.dn) - width_bucket(st.m, samples.dn)))::float8 / samples.np END AS rev,
                   1 + (st.q[1] < samples.fcur)::int + (st.q[2] < samples.fcur)::int + (st.q[3] < samples.fcur)::int
                     + (st.q[4] < samples.fcur)::int AS regime_q, st.q
              FROM samples
             CROSS JOIN LATERAL (
                SELECT CASE WHEN samples.n > 0 THEN (samples.s1 / samples.n)::float8 END AS m,
                       CASE WHEN samples.n >= 2 THEN sqrt(((samples.n * samples.s2 - samples.s1 * samples.s1) / (samples.n::numeric * (samples.n - 1)))::float8) END AS sd,
                       CASE WHEN samples.tn >= 2 THEN (24 * (samples.tn * samples.tkf - samples.tk * samples.tf) / (samples.tn * samples.tkk - samples.tk * samples.tk))::float8 END AS trend,
                       CASE WHEN samples.n > 0 THEN
                           ARRAY[samples.srt[ceil(samples.n / 5.0)::integer], samples.srt[ceil(2 * samples.n / 5.0)::integer],
                                 samples.srt[ceil(3 * samples.n / 5.0)::integer], samples.srt[ceil(4 * samples.n / 5.0)::integer]] END AS q) AS st
            UNION ALL       -- between full hours: from the row at t_h (see 0021)
            SELECT kept_at_hour.exchange, kept_at_hour.symbol, false, kept_at_hour.m, kept_at_hour.sd, kept_at_hour.n, kept_at_hour.trend, kept_at_hour.rev,
                   1 + (kept_at_hour.q[1] < cur.f)::int + (kept_at_hour.q[2] < cur.f)::int + (kept_at_hour.q[3] < cur.f)::int
                     + (kept_at_hour.q[4] < cur.f)::int, kept_at_hour.q
              FROM kept_at_hour JOIN pg_temp.wl_factor_cur AS cur ON cur.exchange = kept_at_hour.exchange AND cur.symbol = kept_at_hour.symbol
             WHERE kept_at_hour.n > 0
        ), kept AS ( -- the samples of H(t_h, 7 d) and their statistics, kept for the next bucket ends (0060)
            INSERT INTO watchlist_data.factor_funding_state AS s (exchange, symbol, ts, f, n, s1, s2, tn, tk, tkk, tf, tkf, np, srt, up, dn)
            SELECT samples.exchange, samples.symbol, v_hour, samples.arr, samples.n, samples.s1, samples.s2, samples.tn, samples.tk, samples.tkk, samples.tf, samples.tkf,
                   samples.np, samples.srt, samples.up, samples.dn
              FROM samples WHERE v_on_hour OR samples.fresh
            ON CONFLICT (exchange, symbol) DO UPDATE SET ts = EXCLUDED.ts, f = EXCLUDED.f, n = EXCLUDED.n, s1 = EXCLUDED.s1,
                s2 = EXCLUDED.s2, tn = EXCLUDED.tn, tk = EXCLUDED.tk, tkk = EXCLUDED.tkk, tf = EXCLUDED.tf, tkf = EXCLUDED.tkf,
                np = EXCLUDED.np, srt = EXCLUDED.srt, up = EXCLUDED.up, dn = EXCLUDED.dn
        )
        INSERT INTO pg_temp.wl_factor_funding SELECT * FROM funding;
END
$$;
REVOKE ALL ON FUNCTION watchlist_data.factor_funding_step(timestamptz) FROM PUBLIC;
