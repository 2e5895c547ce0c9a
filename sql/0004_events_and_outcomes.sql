-- 0004: merged events, their forward-looking labels, and executed trades.
CREATE TABLE watchlist_data.watch_signal_event (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    exchange      text        NOT NULL,
    symbol        text        NOT NULL,
    signal_type   text        NOT NULL CHECK (signal_type IN ('A', 'B', 'C')),
    start_ts      timestamptz NOT NULL,
    end_ts        timestamptz NOT NULL,
    duration_sec  integer     NOT NULL CHECK (duration_sec >= 0),
    n_samples     integer     NOT NULL CHECK (n_samples > 0),
    features_agg  jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(features_agg) = 'object'),
    reason        text,
    status        text        NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'confirmed', 'dropped')),
    is_open       boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT watch_signal_event_span CHECK (end_ts >= start_ts),
    CONSTRAINT watch_signal_event_natural_key UNIQUE (exchange, symbol, signal_type, start_ts)
);
CREATE INDEX watch_signal_event_start_idx ON watchlist_data.watch_signal_event (start_ts DESC);

CREATE TABLE watchlist_data.future_outcome (
    id              bigint           GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        bigint           NOT NULL REFERENCES watchlist_data.watch_signal_event (id) ON DELETE CASCADE,
    horizon_min     integer          NOT NULL CHECK (horizon_min > 0),
    covered         boolean          NOT NULL,
    pnl             double precision,
    spread_change   double precision,
    funding_change  double precision,
    max_drawdown    double precision CHECK (max_drawdown >= 0),
    volatility      double precision CHECK (volatility >= 0),
    label           jsonb            NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(label) = 'object'),
    computed_at     timestamptz      NOT NULL DEFAULT now(),
    CONSTRAINT future_outcome_natural_key UNIQUE (event_id, horizon_min),
    CONSTRAINT future_outcome_finite CHECK (watchlist_data.all_finite(ARRAY[pnl, spread_change, funding_change, max_drawdown, volatility])),
    -- an uncovered horizon carries no made-up numbers
    CONSTRAINT future_outcome_uncovered_empty CHECK (covered OR (pnl IS NULL AND spread_change IS NULL AND funding_change IS NULL AND max_drawdown IS NULL AND volatility IS NULL))
);
CREATE INDEX future_outcome_horizon_idx ON watchlist_data.future_outcome (horizon_min);

CREATE TABLE watchlist_data.watchlist_outcome (
    id                bigint           GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trade_ref         text             NOT NULL CHECK (length(trade_ref) BETWEEN 1 AND 128),
    trigger_id        bigint           REFERENCES watchlist_data.watch_signal_event (id) ON DELETE SET NULL,
    exchange          text,
    symbol            text,
    opened_at         timestamptz      NOT NULL,
    closed_at         timestamptz      CHECK (closed_at >= opened_at),
    pnl               double precision,
    max_drawdown      double precision CHECK (max_drawdown >= 0),
    holding_hours     double precision CHECK (holding_hours >= 0),
    benchmark_return  double precision,
    labels            jsonb            NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(labels) = 'object'),
    notes             text,
    recorded_at       timestamptz      NOT NULL DEFAULT now(),
    CONSTRAINT watchlist_outcome_trade_ref_key UNIQUE (trade_ref),
    CONSTRAINT watchlist_outcome_finite CHECK (watchlist_data.all_finite(ARRAY[pnl, max_drawdown, holding_hours, benchmark_return]))
);
CREATE INDEX watchlist_outcome_trigger_idx ON watchlist_data.watchlist_outcome (trigger_id);
CREATE INDEX watchlist_outcome_opened_idx ON watchlist_data.watchlist_outcome (opened_at);
