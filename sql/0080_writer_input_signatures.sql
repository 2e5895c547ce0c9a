-- 0080: the writer API's checks take the time window of ts (earliest, latest) instead of
-- now(): the old signatures are dropped so that no caller can reach a check without the
-- window (their new versions are the repeatable files sql/functions/watchlist_data.raw_*).
DROP FUNCTION IF EXISTS watchlist_data.raw_ts_quick_ok(text, timestamptz);
DROP FUNCTION IF EXISTS watchlist_data.raw_row_clean(jsonb, timestamptz);
DROP FUNCTION IF EXISTS watchlist_data.raw_row_problems(jsonb, timestamptz);
