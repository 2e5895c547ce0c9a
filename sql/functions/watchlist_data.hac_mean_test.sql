-- watchlist_data.hac_mean_test(x, lag): is the mean of the series x (in time order, one
-- element a period; NULL = a skipped period, kept in place so lags stay in calendar periods)
-- different from 0, when neighbouring elements may be correlated?
-- Newey-West (HAC) variance of the mean, Bartlett kernel, bandwidth lag:
--   e_i = x_i - mean, g_j = sum_i e_i e_{i-j} / n over pairs both present (n = present elements),
--   S = (g_0 + 2 sum_{j=1..lag} (1 - j / (lag + 1)) g_j) * n / (n - 1),   se = sqrt(S / n),
--   t = mean / se: statsmodels' OLS(x, 1).fit(cov_type='HAC', cov_kwds={'maxlags': lag,
--   'use_correction': True}).tvalues[0]. The Bartlett kernel keeps S non-negative.
-- Inference is fixed-b: with few periods the estimated S is noisy and biased low (it is
-- computed around the estimated mean), so t is compared with a wider, heavier-tailed law:
--   kappa = cv(b) / 1.959964, cv(b) = 1.9600 + 2.9694 b + 0.4160 b^2 - 0.5324 b^3, Kiefer and
--   Vogelsang (2005)'s Bartlett 97.5% fixed-b quantile, b = (lag + 1) / n (the mean's bias);
--   df = min(n - 1, 3 n / (2 (lag + 1))), the Bartlett kernel's equivalent degrees of freedom
--   1 / (b int k^2) of Sun (2014) (the noise of S), real-valued;
--   p_value = two-sided Student t(df) p of t / kappa; ci = mean +- kappa t_df(0.975) se (95%).
-- At lag 0 this is nearly the one-sample t-test (kappa = 1 + 1.5 / n). Measured
-- (bench/calibration.py): t(n - 1) without kappa rejects ~8% of true nulls at a 360-minute
-- horizon with 4-hour periods over 7 days; with kappa and df 4-5.5% (docs/factor-lab.md).
-- S <= 0 (a constant series) or n < 3 gives NULL t, p and interval.
CREATE OR REPLACE FUNCTION watchlist_data.hac_mean_test(p_x double precision[], p_lag integer)
RETURNS TABLE (n integer, mean double precision, sd double precision, se double precision, t double precision,
               df double precision, kappa double precision, p_value double precision, ci_lo double precision,
               ci_hi double precision)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m integer := coalesce(cardinality(p_x), 0);
    s double precision := 0;
    g double precision;
    acc double precision;
    lag integer := greatest(coalesce(p_lag, 0), 0);
    b double precision;
BEGIN
    SELECT count(v)::integer, avg(v), stddev_samp(v) INTO n, mean, sd FROM unnest(p_x) AS v;
    df := least(n - 1, 1.5 * n / (lag + 1));
    IF n < 3 THEN
        RETURN NEXT;
        RETURN;
    END IF;
    FOR j IN 0..least(lag, m - 1) LOOP
        acc := 0;
        FOR i IN j + 1..m LOOP
            IF p_x[i] IS NOT NULL AND p_x[i - j] IS NOT NULL THEN
                acc := acc + (p_x[i] - mean) * (p_x[i - j] - mean);
            END IF;
        END LOOP;
        g := acc / n;
        s := s + CASE WHEN j = 0 THEN g ELSE 2 * (1 - j::float8 / (lag + 1)) * g END;
    END LOOP;
    s := s * n / (n - 1);
    b := least((lag + 1)::float8 / n, 1);
    kappa := (1.9600 + 2.9694 * b + 0.4160 * b * b - 0.5324 * b * b * b) / 1.959963984540054;
    IF s <= 0 THEN
        se := 0;
        RETURN NEXT;
        RETURN;
    END IF;
    se := sqrt(s / n);
    t := mean / se;
    p_value := watchlist_data.t_p2(t / kappa, df);
    b := kappa * watchlist_data.t_quantile(0.975, df) * se;
    ci_lo := mean - b;
    ci_hi := mean + b;
    RETURN NEXT;
END
$$;
