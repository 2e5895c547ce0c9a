-- 0021: what the factor job needs of the hourly funding samples, kept on the row that read
-- them, so the job reads the 7-day funding window once an hour instead of every 5 minutes.
--
-- H(t, 7 d) (the hourly funding samples, see 0020) changes only when t reaches a full hour:
-- for t between full hours it equals H(t_h, 7 d), t_h = the full hour before t. So the later
-- rows of that hour take funding_vol_7d (sd), funding_trend_3d and funding_reversal_prob as
-- they are from the row at t_h, and compute funding_zscore_7d and funding_regime of their own
-- f_t from the state below, stored on every row whose funding factors were computed from the
-- samples themselves (the row on the full hour, or a row without one); the other rows leave it
-- NULL. Not factors (b_ prefix: the factor lab skips them).
--   regime = least(5, 1 + floor(5 * count(h < f_t) / n)) = 1 + #{k in 1..4 : s_ceil(k n / 5) < f_t},
--   s_1 <= ... <= s_n the samples sorted (floor(5 b / n) >= k  <=>  b >= ceil(k n / 5), and
--   count(h < f_t) >= j  <=>  s_j < f_t): four order statistics carry it exactly.
ALTER TABLE watchlist_data.factor_value ADD COLUMN IF NOT EXISTS b_fstate_n    integer;
ALTER TABLE watchlist_data.factor_value ADD COLUMN IF NOT EXISTS b_fstate_mean double precision;
ALTER TABLE watchlist_data.factor_value ADD COLUMN IF NOT EXISTS b_fstate_q    double precision[];

COMMENT ON COLUMN watchlist_data.factor_value.b_fstate_n IS
    'state (not a factor): n = count of H(t, 7 d) where the funding factors were computed from the samples, else NULL';
COMMENT ON COLUMN watchlist_data.factor_value.b_fstate_mean IS
    'state (not a factor): mean of H(t, 7 d) where b_fstate_n is set';
COMMENT ON COLUMN watchlist_data.factor_value.b_fstate_q IS
    'state (not a factor): the quintile thresholds s_ceil(k n / 5), k = 1..4, of H(t, 7 d) sorted ascending, where b_fstate_n > 0';
