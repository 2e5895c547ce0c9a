-- 0150: triple-barrier labels next to the fixed-horizon ones. One row per (event, horizon)
-- of watchlist_data.future_outcome (it goes with that label: a merge that drops a label, or
-- the history retention, drops its barrier label too); written by the outcome job with the
-- fixed label (watchlist_data.label_barriers, called by watchlist.label_outcomes). The rule
-- and sigma: docs/events-and-labels.md, "Barrier labels", and label_barriers' header.
INSERT INTO watchlist_data.settings (key, value, kind, description) VALUES
    ('barrier_take_profit_sigma', '2', 'numeric',
     'Barrier labels: take profit when the spread has converged to zero or moved this many sigma in the trade''s favour (> 0)'),
    ('barrier_stop_sigma', '2', 'numeric',
     'Barrier labels: stop when the spread has moved this many sigma against the trade (> 0)'),
    ('barrier_sigma_window', '60 minutes', 'interval',
     'Barrier labels: sigma is the sd of the per-minute spread changes over this window up to the entry (point in time)')
ON CONFLICT (key) DO NOTHING;

CREATE TABLE watchlist_data.barrier_outcome (
    event_id      bigint           NOT NULL,
    horizon_min   integer          NOT NULL CHECK (horizon_min > 0),
    entry_ts      timestamptz      NOT NULL,
    covered       boolean          NOT NULL,
    barrier       text             CHECK (barrier IN ('take_profit', 'stop_loss', 'timeout')),
    hit_ts        timestamptz,
    sigma         double precision CHECK (sigma > 0),
    take_profit   double precision CHECK (take_profit >= 0),
    stop_loss     double precision CHECK (stop_loss > 0),
    entry_px      double precision,
    exit_px       double precision,
    funding_times integer          CHECK (funding_times >= 0),
    pnl           double precision,
    sign          smallint         CHECK (sign IN (-1, 0, 1)),
    reason        text,
    k_sigma       numeric          NOT NULL,
    m_sigma       numeric          NOT NULL,
    sigma_window  interval         NOT NULL,
    computed_at   timestamptz      NOT NULL DEFAULT now(),
    CONSTRAINT barrier_outcome_pkey PRIMARY KEY (event_id, horizon_min),
    CONSTRAINT barrier_outcome_label_fkey FOREIGN KEY (event_id, horizon_min)
        REFERENCES watchlist_data.future_outcome (event_id, horizon_min) ON DELETE CASCADE,
    CONSTRAINT barrier_outcome_finite CHECK (watchlist_data.all_finite(ARRAY[sigma, take_profit, stop_loss, entry_px, exit_px, pnl])),
    -- a covered label names its barrier, when and what it paid; an uncovered one only why
    CONSTRAINT barrier_outcome_covered_full CHECK (
        CASE WHEN covered
             THEN barrier IS NOT NULL AND hit_ts > entry_ts AND sigma IS NOT NULL AND pnl IS NOT NULL AND sign IS NOT NULL
                  AND reason IS NULL
             ELSE barrier IS NULL AND hit_ts IS NULL AND pnl IS NULL AND sign IS NULL AND reason IS NOT NULL END)
);
COMMENT ON TABLE watchlist_data.barrier_outcome IS
    'Triple-barrier label per event and horizon: take profit, stop loss or timeout at the horizon, whichever the spread touches first after the entry; written with the fixed label of future_outcome.';
COMMENT ON COLUMN watchlist_data.barrier_outcome.barrier IS
    'take_profit (the spread converged to zero or moved k sigma in the trade''s favour), stop_loss (m sigma against it) or timeout (neither by entry + horizon)';
COMMENT ON COLUMN watchlist_data.barrier_outcome.hit_ts IS
    'The raw row that touched the barrier; entry + horizon for a timeout';
COMMENT ON COLUMN watchlist_data.barrier_outcome.sigma IS
    'stddev_samp of (spread_rel change / sqrt(minutes between)) over consecutive raw rows with a spread in (entry - sigma_window, entry] (fraction)';
COMMENT ON COLUMN watchlist_data.barrier_outcome.take_profit IS
    'Favourable spread move that takes profit: least(|entry spread_rel|, k_sigma x sigma) (fraction)';
COMMENT ON COLUMN watchlist_data.barrier_outcome.stop_loss IS
    'Adverse spread move that stops: m_sigma x sigma (fraction)';
COMMENT ON COLUMN watchlist_data.barrier_outcome.pnl IS
    'bps, the fixed labels'' convention exited at hit_ts: executable prices, funding of the times in (entry, hit_ts], minus outcome_cost_bps';
CREATE INDEX barrier_outcome_entry_idx ON watchlist_data.barrier_outcome (horizon_min, entry_ts);
