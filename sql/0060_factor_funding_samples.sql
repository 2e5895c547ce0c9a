-- 0060: the hourly funding samples of the 7-day window, carried per key, so the factor job
-- reads one state row per key on the full hour instead of the 168 hourly rows of H(t, 7 d)
-- (see 0020, 0021).
--
-- watchlist_data.factor_funding_state: one row per key, the samples of H(t_h, 7 d) for the
-- last full hour t_h the job computed the key's funding factors for: f[i] = b_funding_close
-- of the row at t_h - (168 - i) hours on the full hour, i = 1 .. 168 (NULL where there is no
-- such row, or it has no funding). H(t, 7 d) of any t in [t_h, t_h + 1 h) is exactly these
-- samples; on the next full hour t_h + 1 h they roll forward: f[2:168] || f_(t_h + 1 h).
-- Every funding factor is computed from the array, whether it was rolled or read from the
-- rows (first run, a gap, late rows, a recomputed range), so both ways give the same values.
-- Valid as long as no row at or before t_h changed since: watchlist_data.compute_factors_keys
-- deletes the states of the keys it (re)computes from a bucket end at or before their t_h,
-- before it writes a row. Not factors (a table of its own): the factor lab skips them.
CREATE TABLE IF NOT EXISTS watchlist_data.factor_funding_state (
    exchange text               NOT NULL,
    symbol   text               NOT NULL,
    ts       timestamptz        NOT NULL,     -- t_h: the full hour the samples end at
    f        double precision[] NOT NULL,     -- 168 slots, oldest first; slot 168 is t_h
    CONSTRAINT factor_funding_state_pkey PRIMARY KEY (exchange, symbol),
    CONSTRAINT factor_funding_state_slots CHECK (cardinality(f) = 168 AND array_lower(f, 1) = 1),
    CONSTRAINT factor_funding_state_hour CHECK (extract(epoch FROM ts) % 3600 = 0)
);
COMMENT ON TABLE watchlist_data.factor_funding_state IS
    'State of the factor job (not factors): the 168 hourly funding samples of H(t_h, 7 d) at the last full hour t_h computed per key (see 0060).';
