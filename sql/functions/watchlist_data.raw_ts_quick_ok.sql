-- watchlist_data.raw_ts_quick_ok(value, latest): the timestamp half of the writer API's
-- whole-batch fast path (watchlist.ingest_raw, step 0; the row half is raw_row_quick_ok).
-- `value` is the field as text (row ->> 'ts'; a JSON number or boolean comes out as its
-- text and fails). True when it is NULL (absent or JSON null: the row test requires ts
-- itself to be a string), or a canonical ISO 8601 timestamp with a UTC offset (a naive one
-- would be read in the session's time zone) not after `latest` (NULL: no bound).
-- ingest_raw calls it once per distinct (ts, next_funding_time) of the batch (a batch of
-- snapshots holds few), not once per row. The cast may raise on an impossible date:
-- ingest_raw runs it inside the fast path's exception block, and an impossible date that
-- passes here makes the INSERT fail anyway; either sends the batch to the exact checks.
CREATE OR REPLACE FUNCTION watchlist_data.raw_ts_quick_ok(p_val text, p_latest timestamptz)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT p_val IS NULL
        OR coalesce(p_val ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)$'
                    AND (p_latest IS NULL OR p_val::timestamptz <= p_latest), false)
$$;
