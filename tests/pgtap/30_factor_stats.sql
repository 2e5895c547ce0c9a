-- Factor lab statistics against values computed independently (scipy 1.x / statsmodels 0.15,
-- offline, pasted as literals; the script is in the comment of each block): the t and
-- chi-square CDFs and the incomplete beta, the t quantile, the Newey-West (HAC) test of a
-- mean on an autocorrelated series, Benjamini-Hochberg q-values, Kruskal-Wallis, and the
-- leaderboard on a fixture whose same-symbol outcome windows overlap.
\set QUIET 1
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only true
\pset pager off
BEGIN;
SET LOCAL search_path = public, pg_catalog;
SELECT plan(45);

-- scipy.stats.t.cdf(t, df) and 2 * scipy.stats.t.sf(|t|, df); the p-value to 1e-8 relative (at df 1e6
-- ln Gamma's cancellation costs digits; the lab's df are periods - 1)
SELECT ok(abs(watchlist_data.t_cdf(t, df) - cdf) < 1e-12 AND abs(watchlist_data.t_p2(t, df) - p2) <= 1e-8 * p2,
          format('t_cdf(%s, %s) = %s and the two-sided p %s (scipy)', t, df, cdf, p2))
  FROM (VALUES
  (-40::float8, 1::float8, 0.007956089912025812::float8, 0.015912179824051624::float8),
  (-2.1, 2.5, 0.07225122237742189, 0.14450244475484378),
  (-0.3, 5, 0.38812452113163726, 0.7762490422632745),
  (0.7, 17, 0.753301900228315, 0.4933961995433701),
  (1.96, 100, 0.9736105493168852, 0.05277890136622966),
  (3.5, 9, 0.9966382421184705, 0.006723515763058959),
  (12, 1000000.0, 1.0, 3.571685124765094e-33),
  (0, 4, 0.5, 1.0)) AS v(t, df, cdf, p2);

-- scipy.stats.t.ppf(p, df)
SELECT ok(abs(watchlist_data.t_quantile(p, df) - q) < 1e-9, format('t_quantile(%s, %s) = %s (scipy)', p, df, q))
  FROM (VALUES
  (0.975::float8, 5::float8, 2.5705818356363146::float8),
  (0.975, 17, 2.1098155778333156),
  (0.999, 40, 3.3068777140858225),
  (0.025, 3, -3.1824463052837086),
  (0.9999, 9, 6.010132129081531)) AS v(p, df, q);

-- scipy.stats.chi2.cdf(x, k) and scipy.stats.chi2.sf(x, k) (= scipy.special.gammaincc(k/2, x/2))
SELECT ok(abs(watchlist_data.chisq_cdf(x, k) - cdf) < 1e-13
          AND abs(watchlist_data.gamma_inc(k / 2, x / 2, true) - sf) <= 1e-12 * sf,
          format('chisq_cdf(%s, %s) = %s and its upper tail %s (scipy)', x, k, cdf, sf))
  FROM (VALUES
  (0.01::float8, 1::float8, 0.07965567455405799::float8, 0.920344325445942::float8),
  (3.84, 1, 0.9499564787512949, 0.05004352124870519),
  (10, 3, 0.9814338645369568, 0.01856613546304325),
  (50, 23, 0.999078677958897, 0.0009213220411029255),
  (200, 100, 0.9999999882154993, 1.1784500720979781e-08),
  (1, 7, 0.0051714634834845175, 0.9948285365165155)) AS v(x, k, cdf, sf);

-- scipy.special.betainc(a, b, x)
SELECT ok(abs(watchlist_data.beta_inc(a, b, x) - i) < 1e-13, format('beta_inc(%s, %s, %s) = %s (scipy)', a, b, x, i))
  FROM (VALUES
  (0.5::float8, 0.5::float8, 0.3::float8, 0.36901011956554536::float8),
  (2, 3, 0.9, 0.9963),
  (30, 0.5, 0.99, 0.43933436890525074),
  (5, 5, 0.5, 0.5)) AS v(a, b, x, i);
SELECT throws_ok($$SELECT watchlist_data.t_cdf(1, 0)$$, '22023', 't_cdf: degrees of freedom must be positive (df = 0)',
                 't_cdf refuses df <= 0, naming it');

-- Newey-West on an MA(2) series x_t = 0.05 + e_t + 0.8 e_{t-1} + 0.5 e_{t-2} (numpy
-- default_rng(7), 24 values rounded to 6 decimals). t and se: statsmodels
-- OLS(x, ones).fit(cov_type='HAC', cov_kwds={'maxlags': L, 'use_correction': True}); then in
-- scipy, fixed-b: b = (L + 1) / 24, kappa = (1.96 + 2.9694 b + 0.416 b^2 - 0.5324 b^3) /
-- norm.ppf(0.975), df = min(23, 1.5 * 24 / (L + 1)), p = 2 t.sf(|t| / kappa, df),
-- interval mean -+ kappa t.ppf(0.975, df) se.
CREATE TEMP TABLE hac_x AS SELECT ARRAY[0.015474, -0.910529, -1.254213, -1.750679, -0.910509, 0.942507, 0.660037, -0.294132,
    -0.202641, 0.488523, 0.685845, -0.617693, -0.670919, 0.256668, -0.752598, -1.135336, -2.889423, -2.989324, -3.773977,
    -2.303248, -2.326387, -0.810238, -0.209961, 0.124102]::float8[] AS x;
SELECT ok(abs(h.t - w.t) < 1e-10 AND abs(h.p_value - w.p) < 1e-10 AND abs(h.ci_lo - w.lo) < 1e-9 AND abs(h.ci_hi - w.hi) < 1e-9
          AND h.n = 24 AND h.df = w.df,
          format('hac_mean_test lag %s: t %s as statsmodels; fixed-b p %s, 95%% interval [%s, %s], df %s', w.lag, w.t, w.p, w.lo, w.hi, w.df))
  FROM (VALUES
  (0, -3.3453547033921773::float8, 0.00452935467009645::float8, -1.4247774463603324::float8, -0.2942768036396676::float8, 23::float8),
  (1, -2.556608987913491, 0.035921282344010486, -1.6559714923986437, -0.06308275760135629, 18.0),
  (2, -2.242372313780196, 0.08446675566673255, -1.855195249214472, 0.1361409992144722, 12.0),
  (3, -2.0934486846495832, 0.1302239109497412, -2.027172656250425, 0.30811840625042486, 9.0)) AS w(lag, t, p, lo, hi, df),
  hac_x CROSS JOIN LATERAL watchlist_data.hac_mean_test(hac_x.x, w.lag) AS h;
SELECT ok((SELECT h.t FROM hac_x, watchlist_data.hac_mean_test(hac_x.x || ARRAY[NULL, NULL]::float8[], 2) AS h)
          = (SELECT h.t FROM hac_x, watchlist_data.hac_mean_test(hac_x.x, 2) AS h),
          'hac_mean_test: trailing skipped periods (NULL) change nothing');
SELECT is((SELECT row(h.n, h.t, h.p_value)::text FROM watchlist_data.hac_mean_test(ARRAY[0.1, 0.1, 0.1, 0.1]::float8[], 1) AS h),
          '(4,,)', 'hac_mean_test: a constant series has no t and no p');

-- statsmodels multipletests(p, method='fdr_bh')[1]; a NULL is no test and stays NULL
SELECT ok(array_length(got, 1) = 8 AND got[4] IS NULL
          AND (SELECT bool_and(abs(g - w) < 1e-15) FROM unnest(got, want) AS u(g, w) WHERE w IS NOT NULL),
          'bh_q: Benjamini-Hochberg q-values as statsmodels fdr_bh, in the input order, NULL kept')
  FROM (SELECT watchlist_data.bh_q(ARRAY[0.01, 0.04, 0.03, NULL, 0.5, 0.04, 0.2, 0.001]::float8[]) AS got,
               ARRAY[0.035, 0.056, 0.056, NULL, 0.5, 0.056, 0.23333333333333336, 0.007]::float8[] AS want) AS b;

-- scipy.stats.kruskal over groups g = i mod 4 (i = 0..39), y as listed: H 4.62619675838675, p 0.20130627625168335
SELECT ok(k.n = 40 AND k.k = 4 AND k.df = 3 AND abs(k.h - 4.62619675838675) < 1e-11 AND abs(k.p_value - 0.20130627625168335) < 1e-12,
          'kruskal_wallis: H (tie-corrected) and chi-square p as scipy.stats.kruskal')
  FROM watchlist_data.kruskal_wallis(
         (SELECT array_agg((i % 4)::float8 ORDER BY i) FROM generate_series(0, 39) AS i),
         ARRAY[0.0, 3.5, 0.0, -1.5, 1.0, 2.5, -1.0, -0.5, 3.0, 1.5, -2.0, 1.5, 3.0, 0.5, -2.0, 2.5, 3.0, -1.5, -1.0, 3.5,
               2.0, -2.5, 0.0, 4.5, 0.0, -2.5, 2.0, 4.5, -1.0, -1.5, 3.0, 3.5, -3.0, -0.5, 4.0, 2.5, -3.0, 0.5, 4.0, 0.5]::float8[]) AS k;

-- ------------------------------------------------------------ the leaderboard, overlapping windows
-- 10 hourly periods from 2037-03-02 00:00Z, symbols L1 / L2 (s = 0 / 1), events at minutes 5,
-- 25, 45 of every hour (k = 0, 1, 2): the 60-minute outcome windows of a symbol overlap.
-- f1 = (7p + 3s + 5k) mod 11, f2 = (3p + 5s + k^2) mod 5, cat = (s + k) mod 3,
-- pnl = ((5p + 2s + 3k) mod 7) - 3 + 0.4 f1 + 1.5 cat.
CREATE TEMP TABLE hx AS
SELECT p, s, k, ((7 * p + 3 * s + 5 * k) % 11)::float8 AS f1, ((3 * p + 5 * s + k * k) % 5)::float8 AS f2,
       ((s + k) % 3)::float8 AS cat,
       (((5 * p + 2 * s + 3 * k) % 7) - 3 + 0.4 * ((7 * p + 3 * s + 5 * k) % 11) + 1.5 * ((s + k) % 3))::float8 AS y,
       '2037-03-02T00:00:00Z'::timestamptz + make_interval(mins => p * 60 + 5 + 20 * k) AS entry_ts,
       'L' || (s + 1) AS symbol
  FROM generate_series(0, 9) AS p, generate_series(0, 1) AS s, generate_series(0, 2) AS k;
INSERT INTO watchlist_data.watch_signal_raw (ts, exchange, symbol, signal_type, triggered, meta)
SELECT entry_ts, 'hacx', symbol, 'A', true, jsonb_build_object('factors', jsonb_build_object('f1', f1, 'f2', f2, 'cat', cat))
  FROM hx;
INSERT INTO watchlist_data.watch_signal_event (exchange, symbol, signal_type, start_ts, end_ts, duration_sec, n_samples, status, is_open, confirmed_at)
SELECT 'hacx', symbol, 'A', entry_ts - interval '1 minute', entry_ts + interval '1 minute', 120, 3, 'confirmed', false, entry_ts FROM hx;
INSERT INTO watchlist_data.watchlist_membership (exchange, symbol, entered_at)
SELECT DISTINCT 'hacx', symbol, '2037-02-01T00:00:00Z'::timestamptz FROM hx;
INSERT INTO watchlist_data.future_outcome (event_id, horizon_min, covered, pnl)
SELECT e.id, 60, true, hx.y FROM hx JOIN watchlist_data.watch_signal_event e
    ON e.exchange = 'hacx' AND e.symbol = hx.symbol AND e.entry_ts = hx.entry_ts;
UPDATE watchlist_data.settings SET value = '20' WHERE key = 'factor_lab_min_eff_events';
UPDATE watchlist_data.settings SET value = 'meta.cat' WHERE key = 'factor_lab_categorical';
-- Expected (Python, scipy / statsmodels, same fixture with pnl rounded to 10 decimals as the
-- SQL's numeric arithmetic gives it exactly): per hour the Spearman rank IC of the 6 events
-- (scipy.stats.spearmanr); statsmodels HAC t (maxlags 1 = ceil(60 / 60), use_correction) of
-- the 10 hourly rank ICs, and the fixed-b p / interval as above (b = 2 / 10, df = 7.5);
-- eff_events = sum over events of 1 / sum_j max(0, 1 - |t_i - t_j| / 60 min) over the same
-- symbol's events = 20.8333...; meta.cat: scipy.stats.kruskal over the 60 events,
-- H 13.484262012617052 (p 0.00118 if the events were independent), the leaderboard's
-- p = scipy.stats.chi2.sf(H * eff / 60, 2); q = multipletests([p_f1, p_f2, p_cat],
-- method='fdr_bh'); Bonferroni over 3 trials: kappa * scipy.stats.t.ppf(1 - 0.05 / 6, 7.5).
CREATE TEMP TABLE lb AS
SELECT * FROM watchlist.factor_leaderboard('2037-03-02', '2037-03-03', 'pnl', '1 hour', 5, NULL, 'hacx');
SELECT results_eq($$SELECT rank, factor, test, n_periods, n_events, hac_lag FROM lb ORDER BY rank$$,
                  $$VALUES (1, 'meta.f1', 'rank_ic_hac', 10, 60, 1), (2, 'meta.f2', 'rank_ic_hac', 10, 60, 1),
                           (3, 'meta.cat', 'kruskal_wallis', 10, 60, 1)$$,
                  'leaderboard: three rows ranked by q, ties by |HAC t| (the group test last), lag 1 at 1-hour periods');
SELECT ok(abs(eff_events - 20.833333333333325) < 1e-8, 'leaderboard: effective events discount overlapping windows (20.83 of 60)')
  FROM lb WHERE factor = 'meta.f1';
SELECT ok(abs(lb.mean_rank_ic - w.m) < 1e-12 AND abs(lb.hac_t - w.t) < 1e-10 AND abs(lb.p_value - w.p) < 1e-10
          AND abs(lb.ci_lo - w.lo) < 1e-9 AND abs(lb.ci_hi - w.hi) < 1e-9 AND lb.df = 7.5,
          format('leaderboard %s: mean rank IC, HAC t as statsmodels, fixed-b p and 95%% interval', w.f))
  FROM lb JOIN (VALUES
    ('meta.f1', 0.26857142857142857::float8, 1.8083463316051869::float8, 0.20699412775587564::float8, -0.18511210224691155::float8, 0.7222549593897687::float8),
    ('meta.f2', -0.16733200530681513, -1.6221174175958353, 0.25275650913997544, -0.48244879439497124, 0.14778478378134097))
    AS w(f, m, t, p, lo, hi) ON w.f = lb.factor;
SELECT ok(abs(group_h - 13.484262012617052) < 1e-10 AND abs(p_value - 0.09622965444735448) < 1e-9
          AND mean_ic IS NULL AND hac_t IS NULL,
          'leaderboard: a categorical factor gets Kruskal-Wallis (H as scipy, p discounted for overlap), no IC')
  FROM lb WHERE factor = 'meta.cat';
SELECT ok(bool_and(abs(q_value - 0.25275650913997544) < 1e-10) AND NOT bool_or(discovery),
          'leaderboard: Benjamini-Hochberg q over the run as statsmodels fdr_bh; none is a discovery at 0.05')
  FROM lb;
SELECT ok(bool_and(trials_in_window = 3) AND bool_and(abs(bonferroni_t - 4.0158753040271495) < 1e-9) FILTER (WHERE test = 'rank_ic_hac')
          AND abs(max(bonferroni_p) FILTER (WHERE factor = 'meta.f1') - 0.6209823832676269) < 1e-9,
          'leaderboard: 3 trials recorded on the window; Bonferroni |t| threshold kappa t_7.5(1 - 0.05 / 6) and p x 3')
  FROM lb;
-- quintiles of meta.f1 (no ties within an hour; ntile(5) of 6 events: the bottom 2, then 1 each):
-- numpy per hour q1 = mean of the 2 lowest f1's pnl, q5 = the highest's; statsmodels HAC
-- (maxlags 1, use_correction) bse of the hourly q1 / q5 means and t of the hourly q5 - q1
SELECT ok(abs(q1 - 2.41) < 1e-12 AND abs(q1_se - 0.7367752559483641) < 1e-10 AND abs(q5_se - 0.6205732117253459) < 1e-10
          AND abs(spread - 2.69) < 1e-12 AND abs(spread_t - 2.517975648814993) < 1e-10,
          'leaderboard: quintile means with Newey-West standard errors, q5 - q1 with its Newey-West t (statsmodels)')
  FROM lb WHERE factor = 'meta.f1';
SELECT is((SELECT count(*)::int FROM watchlist_data.factor_trial WHERE window_from = '2037-03-02' AND exchange = 'hacx'), 3,
          'leaderboard: each row is recorded as a trial');
-- the same window again with another metric: trials accumulate, the threshold rises
CREATE TEMP TABLE lb2 AS
SELECT * FROM watchlist.factor_leaderboard('2037-03-02', '2037-03-03', 'spread_change', '1 hour', 5, NULL, 'hacx');
SELECT is((SELECT count(*)::int FROM lb2), 0, 'no spread_change labels: no rows');
CREATE TEMP TABLE lb3 AS
SELECT * FROM watchlist.factor_leaderboard('2037-03-02T05:00:00Z', '2037-03-03', 'pnl', '1 hour', 5, NULL, 'hacx');
SELECT ok(bool_and(rank IS NULL AND q_value IS NULL AND NOT eligible AND n_periods = 5),
          'leaderboard: 5 periods (< factor_lab_min_periods 8): rows shown, never ranked, no q')
  FROM lb3;
SELECT ok(bool_and(trials_in_window = 6), 'leaderboard: an overlapping window sees the earlier run''s trials (3 + 3)') FROM lb3;
UPDATE watchlist_data.settings SET value = '21' WHERE key = 'factor_lab_min_eff_events';
SELECT is((SELECT count(rank)::int FROM watchlist.factor_leaderboard('2037-03-02', '2037-03-03', 'pnl', '1 hour', 5, NULL, 'hacx')),
          0, 'leaderboard: 20.8 effective events (< factor_lab_min_eff_events 21): nothing ranked');

SELECT * FROM finish();
ROLLBACK;
