-- 0060: the hourly funding samples of the 7-day window, carried per key, so the factor job
-- reads one state row per key on the full hour instead of the 168 hourly rows of H(t, 7 d)
-- (see 0020, 0021).
--
-- watchlist_data.factor_funding_state: one row per key, the samples of H(t_h, 7 d) for the
-- last full hour t_h the job computed the key's funding factors for: f[i] = b_funding_close
-- of the row at t_h - (168 - i) hours on the full hour, i = 1 .. 168 (NULL where there is no
-- such row, or it has no funding). H(t, 7 d) of any t in [t_h, t_h + 1 h) is exactly these
-- samples; on the next full hour t_h + 1 h they roll forward: f[2:168] || f_(t_h + 1 h).
-- With the samples, what every funding factor needs of them, rolled with them on the full hour
-- (the sample leaving, slot 1, taken out; the hour's added) instead of summed over 168 slots:
-- exact sums (numeric: the float8 values as numeric, so adding and subtracting never drifts),
-- and three sorted arrays, each rolled by one array_position (the value leaving) and one
-- width_bucket (the place of the value entering):
--   n, s1, s2            count, sum, sum of squares of the samples (mean, sd: zscore, vol)
--   tn, tk, tkk, tf, tkf the last 3 days (slots 97 .. 168): count, sums of k, k^2, f, k f, with
--                        k = the sample's hour since the epoch (the trend: a regression slope)
--   srt                  the samples, ascending (the quintile thresholds of 0021: the regime)
--   np, up, dn           the consecutive pairs (h_b, h_{b+1h}) with both samples: their count,
--                        -h_b of the rising ones and h_b of the falling ones, ascending (the
--                        reversal probability: the rising ones below the mean and the falling
--                        ones above it)
-- Every funding factor is computed from these, whether rolled or summed from the rows (first
-- run, a gap, late rows, a recomputed range); the sums are exact and the arrays the same
-- multisets, so both ways give the same values.
-- Valid as long as no row at or before t_h changed since: watchlist_data.compute_factors_keys
-- deletes the states of the keys it (re)computes from a bucket end at or before their t_h,
-- before it writes a row. Not factors (a table of its own): the factor lab skips them.
CREATE TABLE IF NOT EXISTS watchlist_data.factor_funding_state (
    exchange text               NOT NULL,
    symbol   text               NOT NULL,
    ts       timestamptz        NOT NULL,     -- t_h: the full hour the samples end at
    f        double precision[] NOT NULL,     -- 168 slots, oldest first; slot 168 is t_h
    n        integer            NOT NULL,     -- the samples: count, sum, sum of squares
    s1       numeric            NOT NULL,
    s2       numeric            NOT NULL,
    tn       integer            NOT NULL,     -- slots 97 .. 168: count, sums of k, k^2, f, k f
    tk       numeric            NOT NULL,
    tkk      numeric            NOT NULL,
    tf       numeric            NOT NULL,
    tkf      numeric            NOT NULL,
    np       integer            NOT NULL,     -- consecutive pairs with both samples
    srt      double precision[] NOT NULL,     -- the samples, ascending
    up       double precision[] NOT NULL,     -- -h_b of the rising pairs, ascending
    dn       double precision[] NOT NULL,     -- h_b of the falling pairs, ascending
    CONSTRAINT factor_funding_state_pkey PRIMARY KEY (exchange, symbol),
    CONSTRAINT factor_funding_state_slots CHECK (cardinality(f) = 168 AND array_lower(f, 1) = 1),
    CONSTRAINT factor_funding_state_hour CHECK (extract(epoch FROM ts) % 3600 = 0)
);
-- The arrays inline and uncompressed (a row is about 4.3 kB: it fits a page): the job reads
-- a few slots of each several times, and every access to a TOASTed array would fetch and
-- rebuild it (the roll of 7 x 800 keys: 1.2 M buffer reads, 1.0 s, with the default storage).
ALTER TABLE watchlist_data.factor_funding_state ALTER COLUMN f SET STORAGE PLAIN;
ALTER TABLE watchlist_data.factor_funding_state ALTER COLUMN srt SET STORAGE PLAIN;
ALTER TABLE watchlist_data.factor_funding_state ALTER COLUMN up SET STORAGE PLAIN;
ALTER TABLE watchlist_data.factor_funding_state ALTER COLUMN dn SET STORAGE PLAIN;
COMMENT ON TABLE watchlist_data.factor_funding_state IS
    'State of the factor job (not factors): the 168 hourly funding samples of H(t_h, 7 d) at the last full hour t_h computed per key (see 0060).';
