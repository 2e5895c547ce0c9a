-- watchlist_data.raw_ts_quick_ok(value, earliest, latest): the timestamp half of the writer
-- API's whole-batch fast paths (watchlist.ingest_raw step 0, ingest_raw_columns; the row half
-- is raw_row_quick_ok). `value` is the field as text (row ->> 'ts'; a JSON number or boolean
-- comes out as its text and fails). True when it is NULL (absent or JSON null: the row test
-- requires ts itself to be a string), or a canonical ISO 8601 timestamp with a UTC offset
-- (YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+HH:MM|-HH:MM)) inside [earliest, latest] (a NULL bound:
-- none on that side). The callers call it once per distinct (ts, next_funding_time) of the
-- batch, not once per row. The cast may raise on an impossible date: the callers run it
-- inside the fast path's exception block, so either sends the batch to the exact checks
-- (watchlist_data.raw_row_problems), which name the row and field.
CREATE OR REPLACE FUNCTION watchlist_data.raw_ts_quick_ok(p_val text, p_earliest timestamptz, p_latest timestamptz)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT p_val IS NULL
        OR coalesce(p_val ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)$'
                    AND (p_latest IS NULL OR p_val::timestamptz <= p_latest)
                    AND (p_earliest IS NULL OR p_val::timestamptz >= p_earliest), false)
$$;
