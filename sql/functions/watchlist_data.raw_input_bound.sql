-- watchlist_data.raw_input_bound(name): the fixed bounds of the writer API's time window
-- (docs/writer-input.md), the one home of each:
--   'future_skew'   ts may be at most this far after the server's now() (clock skew)
--   'nft_before'    next_funding_time may be at most this far before ts
--   'nft_after'     next_funding_time may be at most this far after ts (the longest
--                   funding interval, 168 h, plus a day)
-- The oldest accepted ts is now() - the raw_retention setting (a row older than that would
-- be dropped by the retention policy at once and only create a chunk): not here, as it is a
-- setting. IMMUTABLE: folded into a constant where it is called with a literal.
CREATE OR REPLACE FUNCTION watchlist_data.raw_input_bound(p_name text)
RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE p_name
        WHEN 'future_skew' THEN INTERVAL '5 minutes'
        WHEN 'nft_before' THEN INTERVAL '1 day'
        WHEN 'nft_after' THEN INTERVAL '8 days'
    END
$$;
REVOKE ALL ON FUNCTION watchlist_data.raw_input_bound(text) FROM PUBLIC;
