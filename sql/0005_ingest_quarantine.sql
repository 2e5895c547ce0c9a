-- 0005: rows the writer API refused, with the row's position, the field and the reason,
-- kept for the operator (watchlist.ingest_rejects view). Good rows of the same batch are
-- written regardless.
CREATE TABLE watchlist_data.ingest_quarantine (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now(),
    batch_id     text        NOT NULL,
    row_index    integer     NOT NULL CHECK (row_index >= 0),
    field        text        NOT NULL,
    reason       text        NOT NULL,
    row_data     jsonb
);
CREATE INDEX ingest_quarantine_received_idx ON watchlist_data.ingest_quarantine (received_at DESC);
