-- 0022: what the factor job carries from one bucket end to the next, so a run reads the
-- 12-hour window W(t, 12 h) (see 0020) no more: the window's sums are rolled forward from
-- the previous bucket end's, the bucket entering added and the one leaving taken away.
--
-- 1. watchlist_data.factor_window_state: one row per key, the sums of W(t, 12 h) at the last
--    bucket end t computed for the key. Exact sums (numeric: the float8 values as numeric,
--    their powers and products exact), so adding and subtracting never drifts and a rolled
--    sum equals the one summed over the window itself; the EMA sums are rounded at 60 decimal
--    places. The next bucket end t + 5 min uses them only when they belong to the row at t
--    as it stands (same computed_at) and a row exists at t; otherwise the key's window is
--    read and summed again (first run, gaps, late rows, a recomputed range).
-- 2. factor_value.b_blk_*: on the rows on a full hour, the running-maximum summary of the
--    hour's block (t - 1 h, t] of x (largest x, smallest x, largest fall from a running
--    maximum), so the 12-hour drawdown is combined from 11 blocks, the part of the window
--    before the first block and the part after the last (both at most 55 minutes).
-- Not factors (b_ prefix, and a table of its own): the factor lab skips them.
CREATE TABLE IF NOT EXISTS watchlist_data.factor_window_state (
    exchange     text        NOT NULL,
    symbol       text        NOT NULL,
    ts           timestamptz NOT NULL,     -- the bucket end t the sums belong to
    computed_at  timestamptz NOT NULL,     -- computed_at of the factor row at t when they were written
    ws_n  bigint  NOT NULL,                -- raw spread samples: count, sum, sum of m2_i + sum_i^2 / n_i
    ws_s  numeric,
    ws_q  numeric,
    wx_n  integer NOT NULL,                -- x_b: count and sums of x, x^2, x^3, x^4
    wx_1  numeric, wx_2 numeric, wx_3 numeric, wx_4 numeric,
    wd_n  integer NOT NULL,                -- steps: count, sums of x_{b-5}, x_b, x_{b-5}^2, x_{b-5} x_b, d_b^2
    wd_p  numeric, wd_c numeric, wd_pp numeric, wd_pc numeric, wd_d2 numeric,
    we12_n numeric, we12_d numeric,        -- EMA sums sum(l^k x_b), sum(l^k) (x_b not null)
    we26_n numeric, we26_d numeric,
    wg_n   numeric, wg_d numeric,          -- EMA9 sums of spread_macd over the rows b <= t
    wr_n  integer NOT NULL,                -- rv_1h of the rows b <= t: count, sum, sum of squares
    wr_1  numeric, wr_2 numeric,
    wv_n  integer NOT NULL,                -- b_volume_close: count, sum, sum of squares
    wv_1  numeric, wv_2 numeric,
    fb_lo timestamptz, fb_hi timestamptz,  -- the drawdown summary of the hourly blocks in (fb_lo, fb_hi]
    fb_mx double precision, fb_mn double precision, fb_dd double precision,
    CONSTRAINT factor_window_state_pkey PRIMARY KEY (exchange, symbol)
);
COMMENT ON TABLE watchlist_data.factor_window_state IS
    'State of the factor job (not factors): the sums of W(t, 12 h) at the last bucket end computed per key (see 0022).';

ALTER TABLE watchlist_data.factor_value ADD COLUMN IF NOT EXISTS b_blk_n  integer;
ALTER TABLE watchlist_data.factor_value ADD COLUMN IF NOT EXISTS b_blk_mx double precision;
ALTER TABLE watchlist_data.factor_value ADD COLUMN IF NOT EXISTS b_blk_mn double precision;
ALTER TABLE watchlist_data.factor_value ADD COLUMN IF NOT EXISTS b_blk_dd double precision;
COMMENT ON COLUMN watchlist_data.factor_value.b_blk_n IS
    'state (not a factor): on a full hour t, the count of x_b over the rows b in (t - 1 h, t] (else NULL)';
COMMENT ON COLUMN watchlist_data.factor_value.b_blk_mx IS
    'state (not a factor): on a full hour t, max x_b over the rows b in (t - 1 h, t]';
COMMENT ON COLUMN watchlist_data.factor_value.b_blk_mn IS
    'state (not a factor): on a full hour t, min x_b over the rows b in (t - 1 h, t]';
COMMENT ON COLUMN watchlist_data.factor_value.b_blk_dd IS
    'state (not a factor): on a full hour t, the largest fall of x from its running maximum over the rows b in (t - 1 h, t]';

-- 3. The hourly funding samples of the 7-day windows (read on the full hour, 168 a key) from
--    the index alone: it carries b_funding_close (index-only scans where the chunk is
--    all-visible, i.e. vacuumed: every chunk but the newest). It replaces the partial index of
--    0020 (same keys and predicate), which it also serves.
CREATE INDEX IF NOT EXISTS factor_value_hourly_funding_idx ON watchlist_data.factor_value (exchange, symbol, ts)
    INCLUDE (b_funding_close) WHERE b_on_hour;
DROP INDEX IF EXISTS watchlist_data.factor_value_hourly_idx;
