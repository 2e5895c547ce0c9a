-- watchlist_data.raw_ts_quick_ok(value, latest): the timestamp half of the writer API's
-- whole-batch fast path (watchlist.ingest_raw, step 0; the row half is raw_row_quick_ok).
-- True when the JSON value is absent / null, or a canonical ISO 8601 string with a UTC offset
-- (a naive one would be read in the session's time zone) that is not after `latest` (NULL:
-- no bound). ingest_raw calls it once per distinct value of the batch (a batch of snapshots
-- holds few distinct ts), not once per row. The cast may raise on an impossible date:
-- ingest_raw runs it inside the fast path's exception block, and an impossible date that
-- passes here makes the INSERT fail anyway, which sends the batch to the exact checks.
CREATE OR REPLACE FUNCTION watchlist_data.raw_ts_quick_ok(p_val jsonb, p_latest timestamptz)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT p_val IS NULL OR p_val = 'null'::jsonb
        OR coalesce(jsonb_typeof(p_val) = 'string'
                    AND (p_val #>> '{}') ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)$'
                    AND (p_latest IS NULL OR (p_val #>> '{}')::timestamptz <= p_latest), false)
$$;
