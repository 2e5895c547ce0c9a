-- 0020: the database's own factors (the plan's stage 3 "slow indicators"), one row per
-- (exchange, symbol, 5-minute bucket end ts), computed by watchlist.compute_factors() and the
-- job watchlist_data.job_compute_factors (every compute_factors_every, see watchlist.apply_policies).
--
-- Point in time: the row at ts is computed only from raw rows with ts' < ts (the bucket
-- [ts - 5 min, ts) and earlier buckets) and from rows of this table at or before ts. A row
-- exists when the key has at least one raw row in [ts - 5 min, ts).
--
-- Columns b_* are the bucket's base (from watch_signal_raw); every other non-key column is a
-- factor, defined ONCE, in its column comment below (formula and window). The factor lab
-- (watchlist.event_factors) names them 'db.<column>', next to the app's own factors (raw
-- columns by name, meta.factors as 'meta.<key>'), so a factor the app also sends under the
-- same name is kept apart. watchlist.factor_catalog() lists them from these comments.
--
-- Notation: x_b = b_spread_close of the row at bucket end b; W(t, L) = rows of the key with
-- b in (t - L, t]; a "step" at b is a pair of rows at b - 5 min and b (both present); d_b =
-- x_b - x_{b-5min}; H(t, L) = b_funding_close of rows in W(t, L) whose b is on a full hour
-- (UTC). "sd" is the sample standard deviation (n - 1). A factor is NULL when its window
-- lacks what the formula needs (too few values, zero denominator).
CREATE TABLE watchlist_data.factor_value (
    ts                       timestamptz      NOT NULL,
    exchange                 text             NOT NULL,
    symbol                   text             NOT NULL,
    computed_at              timestamptz      NOT NULL DEFAULT now(),
    -- base of the bucket [ts - 5 min, ts), from watch_signal_raw
    b_n_rows                 integer          NOT NULL,
    b_on_hour                boolean          NOT NULL,     -- ts on a full hour (UTC): an hourly funding sample
    b_triggered_last         boolean,
    b_spread_close           double precision,
    b_spread_high            double precision,
    b_spread_low             double precision,
    b_spread_n               integer          NOT NULL,
    b_spread_sum             double precision,
    b_spread_m2              double precision,
    b_funding_close          double precision,
    b_volume_close           double precision,
    -- spread
    spread_zscore_1h         double precision,
    spread_zscore_12h        double precision,
    spread_halflife_12h      double precision,
    spread_momentum_15m      double precision,
    spread_momentum_60m      double precision,
    spread_skew_12h          double precision,
    spread_kurt_12h          double precision,
    spread_drawdown_12h      double precision,
    spread_rsi_14            double precision,
    spread_macd              double precision,
    spread_macd_signal       double precision,
    spread_bollinger_pct_b   double precision,
    spread_dx_14             double precision,
    spread_adx_14            double precision,
    -- funding
    funding_zscore_7d        double precision,
    funding_trend_3d         double precision,
    funding_vol_7d           double precision,
    funding_regime           double precision,
    funding_reversal_prob    double precision,
    funding_term_slope       double precision,
    -- volatility
    rv_1h                    double precision,
    rv_12h                   double precision,
    hv_ratio                 double precision,
    vol_of_vol_12h           double precision,
    crossings_3h             double precision,
    tail_risk_score          double precision,
    -- liquidity
    oi_to_volume             double precision,
    volume_spike_z_12h       double precision,
    perp_oi_dominance        double precision,
    -- labels
    signal_persistence_min   double precision,
    hour_of_day              double precision,
    session                  double precision,
    CONSTRAINT factor_value_pkey PRIMARY KEY (exchange, symbol, ts)
);

COMMENT ON TABLE watchlist_data.factor_value IS
    'Database-computed factors, one row per (exchange, symbol, 5-minute bucket end); point in time (see 0020).';

COMMENT ON COLUMN watchlist_data.factor_value.spread_zscore_1h IS
    'factor: (x_t - mean) / sd of the raw spread_rel samples in [t - 1 h, t) (combined from the buckets'' n, sum and centred sum of squares); window 1 h';
COMMENT ON COLUMN watchlist_data.factor_value.spread_zscore_12h IS
    'factor: (x_t - mean) / sd of the raw spread_rel samples in [t - 12 h, t) (combined from the buckets'' n, sum and centred sum of squares); window 12 h';
COMMENT ON COLUMN watchlist_data.factor_value.spread_halflife_12h IS
    'factor: AR(1) half-life in minutes, 5 * ln(0.5) / ln(phi), phi = regr_slope(x_b, x_{b-5min}) over the steps b in W(t, 12 h); NULL unless 0 < phi < 1; window 12 h';
COMMENT ON COLUMN watchlist_data.factor_value.spread_momentum_15m IS
    'factor: x_t - x_{t-15min} (NULL without a row at t - 15 min); window 15 min';
COMMENT ON COLUMN watchlist_data.factor_value.spread_momentum_60m IS
    'factor: x_t - x_{t-60min} (NULL without a row at t - 60 min); window 60 min';
COMMENT ON COLUMN watchlist_data.factor_value.spread_skew_12h IS
    'factor: skewness m3 / m2^1.5 (population central moments) of x_b over W(t, 12 h), n >= 3; window 12 h';
COMMENT ON COLUMN watchlist_data.factor_value.spread_kurt_12h IS
    'factor: excess kurtosis m4 / m2^2 - 3 (population central moments) of x_b over W(t, 12 h), n >= 4; window 12 h';
COMMENT ON COLUMN watchlist_data.factor_value.spread_drawdown_12h IS
    'factor: largest fall of x from its running maximum, max_b (max_{b'' <= b} x_b'' - x_b), b, b'' in W(t, 12 h); window 12 h';
COMMENT ON COLUMN watchlist_data.factor_value.spread_rsi_14 IS
    'factor: RSI (simple averages), 100 * sum(max(d_b, 0)) / sum(|d_b|) over the steps b in W(t, 70 min) (14 steps); window 70 min';
COMMENT ON COLUMN watchlist_data.factor_value.spread_macd IS
    'factor: EMA12 - EMA26 of x, EMA_s(t) = sum(l^k x_b) / sum(l^k), l = 1 - 2 / (s + 1), k = (t - b) / 5 min, b in W(t, 12 h); window 12 h';
COMMENT ON COLUMN watchlist_data.factor_value.spread_macd_signal IS
    'factor: EMA9 (same weighting) of spread_macd over the rows b in W(t, 12 h); window 12 h (+ 12 h of the macd)';
COMMENT ON COLUMN watchlist_data.factor_value.spread_bollinger_pct_b IS
    'factor: Bollinger %b (20, 2): (x_t - (m - 2 sd)) / (4 sd), m, sd of x_b over W(t, 100 min); window 100 min';
COMMENT ON COLUMN watchlist_data.factor_value.spread_dx_14 IS
    'factor: DX from 5-minute high/low of the spread over the steps b in W(t, 70 min): up = high_b - high_{b-5}, dn = low_{b-5} - low_b, +DM = up if up > dn and up > 0 else 0, -DM = dn if dn > up and dn > 0 else 0, TR = max(high_b, x_{b-5}) - min(low_b, x_{b-5}); DI+- = sum DM+- / sum TR; DX = 100 |DI+ - DI-| / (DI+ + DI-); window 70 min';
COMMENT ON COLUMN watchlist_data.factor_value.spread_adx_14 IS
    'factor: ADX, mean of spread_dx_14 over the rows b in W(t, 70 min); window 70 min (+ 70 min of the dx)';
COMMENT ON COLUMN watchlist_data.factor_value.funding_zscore_7d IS
    'factor: (f_t - mean(H)) / sd(H), f_t = b_funding_close at t, H = hourly funding samples H(t, 7 d); window 7 d';
COMMENT ON COLUMN watchlist_data.factor_value.funding_trend_3d IS
    'factor: least-squares slope of the hourly funding samples H(t, 3 d) on time, per day; window 3 d';
COMMENT ON COLUMN watchlist_data.factor_value.funding_vol_7d IS
    'factor: sd of the hourly funding samples H(t, 7 d); window 7 d';
COMMENT ON COLUMN watchlist_data.factor_value.funding_regime IS
    'factor: quantile label 1..5 of f_t among H(t, 7 d): least(5, 1 + floor(5 * count(h < f_t) / count(H))); window 7 d';
COMMENT ON COLUMN watchlist_data.factor_value.funding_reversal_prob IS
    'factor: historical mean-reversion frequency: share of consecutive hourly pairs (h_b, h_{b+1h}) in H(t, 7 d) that move toward the mean, (h_{b+1h} - h_b) * (h_b - mean(H)) < 0; window 7 d';
COMMENT ON COLUMN watchlist_data.factor_value.funding_term_slope IS
    'factor: term slope across funding intervals: regr_slope(funding_rate, funding_interval_hours) over the numeric meta.exchanges entries of the bucket''s last raw row (NULL with fewer than 2 distinct intervals); window: the bucket';
COMMENT ON COLUMN watchlist_data.factor_value.rv_1h IS
    'factor: realised volatility sqrt(sum d_b^2) over the steps b in W(t, 1 h); window 1 h';
COMMENT ON COLUMN watchlist_data.factor_value.rv_12h IS
    'factor: realised volatility sqrt(sum d_b^2) over the steps b in W(t, 12 h); window 12 h';
COMMENT ON COLUMN watchlist_data.factor_value.hv_ratio IS
    'factor: short/long volatility ratio sqrt(mean d_b^2 over W(t, 1 h)) / sqrt(mean d_b^2 over W(t, 12 h)); windows 1 h, 12 h';
COMMENT ON COLUMN watchlist_data.factor_value.vol_of_vol_12h IS
    'factor: vol of vol, sd of rv_1h over the rows b in W(t, 12 h); window 12 h (+ 1 h)';
COMMENT ON COLUMN watchlist_data.factor_value.crossings_3h IS
    'factor: midline crossings: c = mean of x_b over W(t, 3 h); number of steps b with b - 5 min also in W(t, 3 h) and (x_b - c)(x_{b-5} - c) < 0; window 3 h';
COMMENT ON COLUMN watchlist_data.factor_value.tail_risk_score IS
    'factor: |spread_skew_12h| + max(spread_kurt_12h, 0); window 12 h';
COMMENT ON COLUMN watchlist_data.factor_value.oi_to_volume IS
    'factor: sum(oi_usd) / sum(volume_24h_quote) over the perp entries of meta.exchanges of the bucket''s last raw row that carry both; window: the bucket';
COMMENT ON COLUMN watchlist_data.factor_value.volume_spike_z_12h IS
    'factor: (v_t - mean) / sd of v_b over W(t, 12 h), v = last volume_quote of the bucket; window 12 h';
COMMENT ON COLUMN watchlist_data.factor_value.perp_oi_dominance IS
    'factor: oi_usd of the row''s own exchange / sum(oi_usd) over the perp entries of meta.exchanges of the bucket''s last raw row; window: the bucket';
COMMENT ON COLUMN watchlist_data.factor_value.signal_persistence_min IS
    'factor: minutes of consecutive buckets (ending at t) whose last raw row was triggered: 0 if not triggered at t, else 5 + the value at t - 5 min (0 without a row there); window: the run';
COMMENT ON COLUMN watchlist_data.factor_value.hour_of_day IS
    'factor: UTC hour of the bucket start t - 5 min (0..23)';
COMMENT ON COLUMN watchlist_data.factor_value.session IS
    'factor: trading session of the bucket start t - 5 min (UTC hour): 0 Asia [22, 8), 1 Europe [8, 14), 2 US [14, 22)';

SELECT create_hypertable('watchlist_data.factor_value', by_range('ts', INTERVAL '1 day'));

-- The hourly samples of the 7-day funding windows, found without reading the other 11 of
-- every 12 rows (uncompressed chunks; factor_compress_after keeps the 7-day window there).
CREATE INDEX factor_value_hourly_idx ON watchlist_data.factor_value (exchange, symbol, ts) WHERE b_on_hour;

ALTER TABLE watchlist_data.factor_value SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'exchange, symbol',
    timescaledb.compress_orderby   = 'ts DESC'
);

INSERT INTO watchlist_data.settings (key, value, kind, description) VALUES
    ('compute_factors_every', '5 minutes', 'interval', 'Schedule of the factor job (watchlist_data.job_compute_factors)'),
    ('factor_lookback',       '6 hours',   'interval', 'How far back the factor job recomputes rows for late raw rows (older ones: watchlist.compute_factors(from, to))'),
    ('factor_compress_after', '8 days',    'interval', 'Factor chunks (watchlist_data.factor_value) older than this are compressed; keep it above the 7-day funding window, which the job reads every run'),
    ('factor_retention',      '30 days',   'interval', 'Factor rows older than this are dropped (whole chunks)')
ON CONFLICT (key) DO NOTHING;
