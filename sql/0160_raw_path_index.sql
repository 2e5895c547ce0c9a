-- 0160: the outcome job's reads of raw rows come from an index, not the table.
-- A label reads its key's rows from the entry to the horizon (the entry and exit rows, the
-- path's spread statistics, the funding times; the barrier labels the sigma window and the
-- first touch), six columns of them. A key's rows lie a minute apart in the table, 5,600
-- rows and about 1,100 pages apart at 7 x 800, so each minute of a window is a page of its
-- own, and the job spent most of its time bringing those pages into shared_buffers.
-- In this index a key's minutes are neighbours, about 95 to a page: a 6-hour window is 4
-- leaf pages instead of 360 heap pages. Measured on a 7 x 800 soak's database (2,001
-- events, 8,004 labels, server restarted before each call): 5.8 to 6.2 s of CPU and 1.17 M
-- pages read, against 2.3 to 2.4 s and 31 k with this index.
-- Index-only scans need the heap pages marked all-visible, which vacuum does; an
-- insert-only chunk is vacuumed by default after 20% of its rows are new (hours of a
-- day's chunk). Vacuuming it every 50,000 new rows (9 minutes at 7 x 800) keeps all but
-- the newest minutes all-visible; labels read rows at least 30 minutes old. TimescaleDB
-- passes the hypertable's storage parameters on to its chunks, present and future.
-- Cost: about 87 bytes a row while a chunk is uncompressed (compression empties it), one
-- more btree insert a row, and the vacuums (docs/capacity.md).
CREATE INDEX IF NOT EXISTS watch_signal_raw_path_idx ON watchlist_data.watch_signal_raw (exchange, symbol, ts)
    INCLUDE (spread_rel, funding_rate, best_buy_high_sell_low, best_sell_high_buy_low, next_funding_time);
ALTER TABLE watchlist_data.watch_signal_raw
    SET (autovacuum_vacuum_insert_threshold = 50000, autovacuum_vacuum_insert_scale_factor = 0);
