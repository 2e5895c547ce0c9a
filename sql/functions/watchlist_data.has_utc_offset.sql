-- watchlist_data.has_utc_offset(text): does an ISO 8601 timestamp string end in a UTC
-- offset (Z, +hh, +hhmm, +hh:mm)? A timestamp without one is naive and refused by the
-- writer API (raw rows, trades): the one definition of "naive".
-- No SET clause, so the planner can inline it into set-based queries.
CREATE OR REPLACE FUNCTION watchlist_data.has_utc_offset(p_value text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$
    SELECT p_value ~ '(Z|z|[+-]\d{2}(:?\d{2})?)$'
$$;
REVOKE ALL ON FUNCTION watchlist_data.has_utc_offset(text) FROM PUBLIC;
