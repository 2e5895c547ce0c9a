-- 0021: the hourly funding samples, kept on the row that computed them, so the factor job
-- reads the 7-day funding window once an hour instead of every 5 minutes.
--
-- H(t, 7 d) (the hourly funding samples, see 0020) changes only when t reaches a full hour:
-- for t between full hours it equals H(t_h, 7 d), t_h = the full hour before t. The row at t_h
-- (and any row whose funding factors were computed from the samples themselves) stores what
-- the later rows of that hour need besides its own funding factors (funding_vol_7d = sd,
-- funding_trend_3d, funding_reversal_prob are the same for them): the number of samples, their
-- mean and the samples themselves, negated and sorted ascending, so count(h < f_t) for the
-- regime of any f_t is one binary search (n - width_bucket(-f_t, b_fstate_neg)). Rows computed
-- from the row at t_h leave these NULL. Not factors (b_ prefix: the factor lab skips them).
ALTER TABLE watchlist_data.factor_value ADD COLUMN IF NOT EXISTS b_fstate_n    integer;
ALTER TABLE watchlist_data.factor_value ADD COLUMN IF NOT EXISTS b_fstate_mean double precision;
ALTER TABLE watchlist_data.factor_value ADD COLUMN IF NOT EXISTS b_fstate_neg  double precision[];

COMMENT ON COLUMN watchlist_data.factor_value.b_fstate_n IS
    'state (not a factor): count of H(t, 7 d) where the funding factors were computed from the samples, else NULL';
COMMENT ON COLUMN watchlist_data.factor_value.b_fstate_mean IS
    'state (not a factor): mean of H(t, 7 d) where b_fstate_n is set';
COMMENT ON COLUMN watchlist_data.factor_value.b_fstate_neg IS
    'state (not a factor): -h for h in H(t, 7 d), sorted ascending, where b_fstate_n is set (NULL when empty)';
