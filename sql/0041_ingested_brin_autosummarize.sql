-- 0041: the BRIN index on ingested_at (0002), which the merge and outcome jobs use to find
-- the rows that arrived since their last run, rebuilt so that it stays precise:
--   autosummarize = on   a page range is summarised as soon as it fills (autovacuum work
--                        item). Without it the ranges written since the chunk's last
--                        vacuum have no summary, and a BRIN scan must read all of them:
--                        at 7 x 800 the jobs' "new rows" read grew from 2,157 to 3,671
--                        heap pages in ten minutes, for the same 16,800 new rows.
--   pages_per_range = 32 (default 128): a scan for the newest minutes reads ranges of
--                        about 800 rows instead of about 3,400.
-- Existing chunks get it too (an index on a hypertable is built on every chunk).
CREATE INDEX IF NOT EXISTS watch_signal_raw_ingested_brin32 ON watchlist_data.watch_signal_raw
    USING brin (ingested_at) WITH (pages_per_range = 32, autosummarize = on);
DROP INDEX IF EXISTS watchlist_data.watch_signal_raw_ingested_brin;
