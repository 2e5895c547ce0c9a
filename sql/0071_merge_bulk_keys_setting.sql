-- 0071: a rebuild of many keys (watchlist.merge_events without p_since, e.g. a day at 7 x 800)
-- reads the raw rows in one pass, not one index scan per key: per key, a key's rows of a day
-- are spread over the whole day's heap pages (rows arrive minute by minute for every key), so
-- 5,600 index scans read every page once per row on it (seen at 7 x 800 x 30 h, 128 MB
-- shared_buffers: more than 15 minutes, hundreds of GB read from the OS cache). The
-- incremental job (p_since given) keeps the per-key scans: its keys read a few rows each.
INSERT INTO watchlist_data.settings (key, value, kind, description) VALUES
    ('merge_bulk_min_keys',
     '200',
     'integer',
     'A rebuild of the events (merge_events without p_since) of at least this many keys reads the raw rows in one pass (hash join and sort) instead of one index scan per key')
ON CONFLICT (key) DO NOTHING;
