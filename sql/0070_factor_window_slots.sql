-- 0070: the short windows of the factor job (at most 3 hours 5 minutes: z-score 1 h, RSI, ADX,
-- Bollinger %b, momentum, realised vol 1 h, crossings 3 h, the hour's drawdown block) are no
-- longer read from factor_value at every bucket end: the values they need of the last rows are
-- carried per key in watchlist_data.factor_window_state (0022), next to the 12-hour sums, as
-- slots. Slot k of the state written at bucket end t is the key's row at t - (k - 1) x 5 min
-- (NULL where there is no row, or its value is NULL):
--   r_x    b_spread_close, k = 1 .. 36 (the 3-hour window and the step before it, next time)
--   r_hi, r_lo  b_spread_high / b_spread_low, k = 1 .. 14 (the ADX's steps in 70 minutes)
--   r_sn, r_ss, r_m2  b_spread_n / b_spread_sum / b_spread_m2, k = 1 .. 11 (the 1-hour z-score)
--   r_dx   spread_dx_14, k = 1 .. 13 (the ADX's mean of dx)
--   r_pers signal_persistence_min of the row at t
-- The next bucket end t + 5 min takes them, with its own row as slot 1, when the state belongs
-- to the row at t as it stands (the rule of 0022 for the sums); otherwise it reads the slots
-- from the rows. Both ways give the same slots, and the factors are computed from the slots.
-- States written before this migration have no slots (NULL): their keys read them once.
ALTER TABLE watchlist_data.factor_window_state ADD COLUMN IF NOT EXISTS r_x    double precision[];
ALTER TABLE watchlist_data.factor_window_state ADD COLUMN IF NOT EXISTS r_hi   double precision[];
ALTER TABLE watchlist_data.factor_window_state ADD COLUMN IF NOT EXISTS r_lo   double precision[];
ALTER TABLE watchlist_data.factor_window_state ADD COLUMN IF NOT EXISTS r_sn   integer[];
ALTER TABLE watchlist_data.factor_window_state ADD COLUMN IF NOT EXISTS r_ss   double precision[];
ALTER TABLE watchlist_data.factor_window_state ADD COLUMN IF NOT EXISTS r_m2   double precision[];
ALTER TABLE watchlist_data.factor_window_state ADD COLUMN IF NOT EXISTS r_dx   double precision[];
ALTER TABLE watchlist_data.factor_window_state ADD COLUMN IF NOT EXISTS r_pers double precision;
