-- watchlist_data.iso_ts_ok(value): the JSON value is a timestamp string in the canonical
-- form YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM) naming a day the month has, so a
-- cast to timestamptz cannot fail; false otherwise (used by raw_row_clean, whose "false"
-- only sends the row to the exact checks of raw_row_problems).
CREATE OR REPLACE FUNCTION watchlist_data.iso_ts_ok(p_val jsonb)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN coalesce(jsonb_typeof(p_val) = 'string'
       AND (p_val #>> '{}') ~ '^[12]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-](0\d|1[0-4]):[0-5]\d)$', false)
       THEN (substr(p_val #>> '{}', 9, 2)::int <= 28
            OR substr(p_val #>> '{}', 9, 2)::int <= CASE substr(p_val #>> '{}', 6, 2)::int
                   WHEN 2 THEN CASE WHEN substr(p_val #>> '{}', 1, 4)::int % 4 = 0
                                         AND (substr(p_val #>> '{}', 1, 4)::int % 100 <> 0 OR substr(p_val #>> '{}', 1, 4)::int % 400 = 0)
                                    THEN 29 ELSE 28 END
                   WHEN 4 THEN 30 WHEN 6 THEN 30 WHEN 9 THEN 30 WHEN 11 THEN 30 ELSE 31 END)
       ELSE false END
$$;
