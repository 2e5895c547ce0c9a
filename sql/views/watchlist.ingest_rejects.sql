-- watchlist.ingest_rejects: rows the writer API refused, newest first: batch, 0-based row
-- index in the batch, field, reason and the row as sent.
CREATE OR REPLACE VIEW watchlist.ingest_rejects AS
SELECT id, received_at, batch_id, row_index, field, reason, row_data
  FROM watchlist_data.ingest_quarantine
 ORDER BY received_at DESC, id DESC;
REVOKE ALL ON watchlist.ingest_rejects FROM PUBLIC;
GRANT SELECT ON watchlist.ingest_rejects TO wl_reader;
