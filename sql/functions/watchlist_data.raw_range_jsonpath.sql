-- watchlist_data.raw_range_jsonpath(): watchlist_data.raw_field_range() as one jsonpath
-- filter that matches a raw row (a JSON object) with a number outside its field's range (or
-- closer to 0 than its min_abs), for the exact path's set-based row test (raw_row_clean):
-- NOT jsonb_path_exists(row, watchlist_data.raw_range_jsonpath()). A jsonpath test per row
-- costs too much for every batch, so the whole-batch fast path checks the ranges per column
-- instead (raw_rows_in_range). IMMUTABLE without
-- arguments, so the planner folds it into a constant. A field that is absent, null or not a
-- number does not match (its type is checked elsewhere). Comparisons are made on the JSON
-- numeric, so 1e400 is out of range, not an error.
CREATE OR REPLACE FUNCTION watchlist_data.raw_range_jsonpath()
RETURNS jsonpath
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ('$ ? (' || string_agg(
               concat_ws(' || ',
                   CASE WHEN r.lo IS NOT NULL THEN format('@.%s %s %s', r.field, CASE WHEN r.lo_open THEN '<=' ELSE '<' END, r.lo::numeric) END,
                   CASE WHEN r.hi IS NOT NULL THEN format('@.%s %s %s', r.field, CASE WHEN r.hi_open THEN '>=' ELSE '>' END, r.hi::numeric) END,
                   CASE WHEN r.min_abs > 0 THEN format('(@.%1$s != 0 && @.%1$s < %2$s && @.%1$s > -%2$s)', r.field, r.min_abs::numeric) END),
               ' || ' ORDER BY r.field) || ')')::jsonpath
      FROM watchlist_data.raw_field_range() AS r
$$;
REVOKE ALL ON FUNCTION watchlist_data.raw_range_jsonpath() FROM PUBLIC;
