-- watchlist_data.hac_mean_test(x, lag, level): is the mean of the series x (in time order,
-- one element a period; NULL = a skipped period, kept in place so lags stay in calendar
-- periods) different from 0, when neighbouring elements may be correlated?
-- Newey-West (HAC) variance of the mean with the Bartlett kernel:
--   e_i = x_i - mean, g_j = sum_i e_i e_{i-j} / n over pairs both present (n = present elements),
--   S = (g_0 + 2 sum_{j=1..lag} (1 - j / (lag + 1)) g_j) * n / (n - 1),   se = sqrt(S / n),
--   t = mean / se on n - 1 degrees of freedom (Student t), p two-sided, interval mean +- t_q se.
-- The n / (n - 1) small-sample factor and t(n - 1) make lag 0 the ordinary one-sample t-test;
-- the whole is statsmodels' OLS(x, 1).fit(cov_type='HAC', cov_kwds={'maxlags': lag,
-- 'use_correction': True}, use_t=True). The Bartlett kernel keeps S non-negative. S <= 0
-- (a constant series) or n < 3 gives NULL t, p and interval.
CREATE OR REPLACE FUNCTION watchlist_data.hac_mean_test(p_x double precision[], p_lag integer, p_level double precision DEFAULT 0.95)
RETURNS TABLE (n integer, mean double precision, sd double precision, se double precision, t double precision,
               df integer, p_value double precision, ci_lo double precision, ci_hi double precision)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m integer := coalesce(cardinality(p_x), 0);
    s double precision := 0;
    g double precision;
    acc double precision;
    lag integer := greatest(coalesce(p_lag, 0), 0);
    q double precision;
BEGIN
    SELECT count(v)::integer, avg(v), stddev_samp(v) INTO n, mean, sd FROM unnest(p_x) AS v;
    df := n - 1;
    IF n < 3 THEN
        se := NULL; t := NULL; p_value := NULL; ci_lo := NULL; ci_hi := NULL;
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
    IF s <= 0 THEN
        se := 0; t := NULL; p_value := NULL; ci_lo := NULL; ci_hi := NULL;
        RETURN NEXT;
        RETURN;
    END IF;
    se := sqrt(s / n);
    t := mean / se;
    p_value := watchlist_data.t_p2(t, df);
    q := watchlist_data.t_quantile(1 - (1 - p_level) / 2, df);
    ci_lo := mean - q * se;
    ci_hi := mean + q * se;
    RETURN NEXT;
END
$$;
