-- watchlist_data.raw_values_in_range(field, values): every non-NULL value of a typed column
-- of a batch lies inside the field's accepted range (watchlist_data.raw_field_range()); NaN
-- and +-Infinity never do. ingest_raw_columns' fast path calls it once per numeric column: a
-- false sends the batch to the exact path, which names the row and field. An unknown field
-- has no range: true.
CREATE OR REPLACE FUNCTION watchlist_data.raw_values_in_range(p_field text, p_values double precision[])
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT coalesce(bool_and(
               (r.lo IS NULL OR CASE WHEN r.lo_open THEN v.x > r.lo ELSE v.x >= r.lo END)
               AND (r.hi IS NULL OR CASE WHEN r.hi_open THEN v.x < r.hi ELSE v.x <= r.hi END)
               AND (v.x = 0 OR abs(v.x) >= r.min_abs)
               AND v.x NOT IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)), true)
      FROM watchlist_data.raw_field_range() AS r
      JOIN unnest(p_values) AS v(x) ON v.x IS NOT NULL
     WHERE r.field = p_field
$$;
REVOKE ALL ON FUNCTION watchlist_data.raw_values_in_range(text, double precision[]) FROM PUBLIC;
