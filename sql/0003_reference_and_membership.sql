-- 0003: symbol reference data and point-in-time watchlist membership.
CREATE TABLE watchlist_data.watchlist_symbol_ref (
    exchange        text        NOT NULL CHECK (exchange ~ '^[a-z0-9_.-]{1,32}$'),
    symbol          text        NOT NULL CHECK (symbol ~ '^[A-Z0-9_.:/-]{1,40}$'),
    base            text,
    quote           text,
    sector          text,
    industry        text,
    listed          date,
    status          text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'delisted')),
    liquidity_tier  smallint             CHECK (liquidity_tier BETWEEN 1 AND 5),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT watchlist_symbol_ref_pkey PRIMARY KEY (exchange, symbol)
);

-- When each (exchange, symbol) entered and left the watchlist, so research can use the
-- universe as it was at any instant: member at t  <=>  entered_at <= t < coalesce(left_at, infinity).
CREATE TABLE watchlist_data.watchlist_membership (
    exchange    text        NOT NULL CHECK (exchange ~ '^[a-z0-9_.-]{1,32}$'),
    symbol      text        NOT NULL CHECK (symbol ~ '^[A-Z0-9_.:/-]{1,40}$'),
    entered_at  timestamptz NOT NULL,
    left_at     timestamptz          CHECK (left_at > entered_at),
    reason      text,
    CONSTRAINT watchlist_membership_pkey PRIMARY KEY (exchange, symbol, entered_at)
);
-- At most one open membership per (exchange, symbol).
CREATE UNIQUE INDEX watchlist_membership_open_uq
    ON watchlist_data.watchlist_membership (exchange, symbol) WHERE left_at IS NULL;
