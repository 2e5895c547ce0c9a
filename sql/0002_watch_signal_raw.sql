-- 0002: the raw factor pool, one row per (exchange, symbol, minute-ish sample).
-- A TimescaleDB hypertable with 1-day chunks; compression (columnstore) segmented by
-- exchange, symbol. Retention / compression policies: sql/policies/.
CREATE TABLE watchlist_data.watch_signal_raw (
    ts                      timestamptz      NOT NULL,
    exchange                text             NOT NULL CHECK (exchange ~ '^[a-z0-9_.-]{1,32}$'),
    symbol                  text             NOT NULL CHECK (symbol ~ '^[A-Z0-9_.:/-]{1,40}$'),
    signal_type             text             NOT NULL CHECK (signal_type IN ('A', 'B', 'C')),
    type_class              text                      CHECK (type_class IN ('A', 'B', 'C')),
    triggered               boolean          NOT NULL,
    status                  text                      CHECK (status IN ('watching', 'triggered', 'cooldown', 'paused', 'removed')),
    -- prices and spread/funding
    spot_price              double precision          CHECK (spot_price > 0),
    futures_price           double precision          CHECK (futures_price > 0),
    spread_rel              double precision,
    funding_rate            double precision,
    funding_interval_hours  double precision          CHECK (funding_interval_hours > 0 AND funding_interval_hours <= 168),
    next_funding_time       timestamptz,
    -- window shape
    range_1h                double precision          CHECK (range_1h >= 0),
    range_12h               double precision          CHECK (range_12h >= 0),
    volatility              double precision          CHECK (volatility >= 0),
    slope_3m                double precision,
    crossings_1h            integer                   CHECK (crossings_1h >= 0),
    drift_ratio             double precision,
    -- executable cross-exchange spreads (fractions, both directions)
    best_buy_high_sell_low  double precision,
    best_sell_high_buy_low  double precision,
    -- liquidity
    volume_quote            double precision          CHECK (volume_quote >= 0),
    sweep_impact            double precision          CHECK (sweep_impact >= 0),
    book_imbalance          double precision,
    bid_ask_spread          double precision          CHECK (bid_ask_spread >= 0),
    -- core factors (the seed's "open as columns" list); the long tail is meta.factors
    spread_zscore_1h        double precision,
    spread_zscore_12h       double precision,
    spread_momentum_15m     double precision,
    funding_zscore_7d       double precision,
    funding_trend_3d        double precision,
    funding_vol_7d          double precision          CHECK (funding_vol_7d >= 0),
    funding_diff_max        double precision,
    funding_term_slope      double precision,
    rv_1h                   double precision          CHECK (rv_1h >= 0),
    rv_12h                  double precision          CHECK (rv_12h >= 0),
    hv_ratio                double precision          CHECK (hv_ratio >= 0),
    premium_index_diff      double precision,
    oi_jump_around_funding  double precision,
    -- cross-exchange detail and long-tail factors (see README: meta layout)
    meta                    jsonb            NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(meta) = 'object'),
    -- when the row reached the database (set by the writer API, never by the caller): lets
    -- the incremental event merge find late rows without re-reading its whole look-back
    ingested_at             timestamptz      NOT NULL DEFAULT now(),
    CONSTRAINT watch_signal_raw_pkey PRIMARY KEY (exchange, symbol, ts),
    CONSTRAINT watch_signal_raw_finite CHECK (watchlist_data.all_finite(ARRAY[
        spot_price, futures_price, spread_rel, funding_rate, funding_interval_hours,
        range_1h, range_12h, volatility, slope_3m, drift_ratio,
        best_buy_high_sell_low, best_sell_high_buy_low, volume_quote, sweep_impact, book_imbalance,
        bid_ask_spread, spread_zscore_1h, spread_zscore_12h, spread_momentum_15m, funding_zscore_7d,
        funding_trend_3d, funding_vol_7d, funding_diff_max, funding_term_slope, rv_1h, rv_12h,
        hv_ratio, premium_index_diff, oi_jump_around_funding]))
);

COMMENT ON TABLE watchlist_data.watch_signal_raw IS
    'Raw factor pool: every watchlist sample, keyed by (exchange, symbol, ts); re-inserting a snapshot is a no-op.';

-- Hypertable with 1-day chunks; the default (ts DESC) index plus the primary key are the
-- only indexes, as the seed asks.
SELECT create_hypertable('watchlist_data.watch_signal_raw', by_range('ts', INTERVAL '1 day'));

-- BRIN on ingestion time: tiny (rows arrive in ingestion order), and enough for the
-- merge job's "what arrived since the last run" scan inside its look-back.
CREATE INDEX watch_signal_raw_ingested_brin ON watchlist_data.watch_signal_raw USING brin (ingested_at);

ALTER TABLE watchlist_data.watch_signal_raw SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'exchange, symbol',
    timescaledb.compress_orderby   = 'ts DESC'
);
