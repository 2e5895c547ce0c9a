-- watchlist_data.raw_field_range(): the accepted range of every numeric column of
-- watch_signal_raw, the one home of these bounds (docs/writer-input.md explains each). The
-- writer API refuses a value outside its range with the row, the field and the reason
-- (watchlist_data.raw_row_problems; the fast paths' tests, raw_row_quick_ok, raw_row_clean
-- and ingest_raw_columns' raw_values_in_range, send such a row there). Besides refusing
-- nonsense, the bounds keep every stored value small enough that no sum, sum of squares or
-- product the reads, the continuous aggregates and the jobs compute over billions of rows
-- can overflow double precision (the largest bound, 1e15, squared is 1e30).
--   lo, hi                the bounds (NULL: none on that side)
--   lo_open, hi_open      true: the bound itself is refused (x > lo rather than x >= lo)
--   min_abs               a value other than 0 must be at least this far from 0: a
--                         subnormal such as 5e-324 makes a square or a fourth power in the
--                         aggregates and the factor job fail with 'underflow'
-- Settings-free and IMMUTABLE: the checks fold it into constants.
DROP FUNCTION IF EXISTS watchlist_data.raw_field_range();  -- its result type grew a column
CREATE FUNCTION watchlist_data.raw_field_range()
RETURNS TABLE (field text, lo double precision, lo_open boolean, hi double precision, hi_open boolean, why text,
               min_abs double precision)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT r.*, CASE WHEN r.field = 'crossings_1h' THEN 0 ELSE 1e-30 END::float8 FROM (VALUES
        ('spot_price',             0::float8, true,  1e9::float8, true,  'a price in quote currency'),
        ('futures_price',          0,         true,  1e9,         true,  'a price in quote currency'),
        ('spread_rel',             -10,       false, 10,          false, 'a fraction: 10 is a 1000% spread'),
        ('funding_rate',           -10,       false, 10,          false, 'a fraction per funding interval: 10 is 1000%'),
        ('funding_interval_hours', 0,         true,  168,         false, 'hours between fundings: at most a week (the table''s own bound)'),
        ('range_1h',               0,         false, 10,          false, 'a fraction, >= 0'),
        ('range_12h',              0,         false, 10,          false, 'a fraction, >= 0'),
        ('volatility',             0,         false, 10,          false, 'a fraction, >= 0'),
        ('slope_3m',               -10,       false, 10,          false, 'a fraction per minute'),
        ('drift_ratio',            -1e6,      false, 1e6,         false, 'a ratio'),
        ('best_buy_high_sell_low', -10,       false, 10,          false, 'an executable spread, a fraction'),
        ('best_sell_high_buy_low', -10,       false, 10,          false, 'an executable spread, a fraction'),
        ('volume_quote',           0,         false, 1e15,        false, 'quote volume, >= 0'),
        ('sweep_impact',           0,         false, 10,          false, 'a fraction of price, >= 0'),
        ('book_imbalance',         -1e6,      false, 1e6,         false, 'a ratio'),
        ('bid_ask_spread',         0,         false, 10,          false, 'a fraction of price, >= 0'),
        ('spread_zscore_1h',       -1e6,      false, 1e6,         false, 'a z-score'),
        ('spread_zscore_12h',      -1e6,      false, 1e6,         false, 'a z-score'),
        ('spread_momentum_15m',    -10,       false, 10,          false, 'a change of a fraction'),
        ('funding_zscore_7d',      -1e6,      false, 1e6,         false, 'a z-score'),
        ('funding_trend_3d',       -10,       false, 10,          false, 'a change of a funding rate'),
        ('funding_vol_7d',         0,         false, 10,          false, 'a volatility of a funding rate, >= 0'),
        ('funding_diff_max',       -10,       false, 10,          false, 'a difference of funding rates'),
        ('funding_term_slope',     -10,       false, 10,          false, 'a funding rate per hour'),
        ('rv_1h',                  0,         false, 1e3,         false, 'a realised volatility, >= 0'),
        ('rv_12h',                 0,         false, 1e3,         false, 'a realised volatility, >= 0'),
        ('hv_ratio',               0,         false, 1e6,         false, 'a ratio, >= 0'),
        ('premium_index_diff',     -10,       false, 10,          false, 'a difference of fractions'),
        ('oi_jump_around_funding', -1e6,      false, 1e6,         false, 'a relative change of open interest'),
        ('crossings_1h',           0,         false, 1e6,         false, 'a count, a whole number >= 0')
    ) AS r(field, lo, lo_open, hi, hi_open, why)
$$;
REVOKE ALL ON FUNCTION watchlist_data.raw_field_range() FROM PUBLIC;
