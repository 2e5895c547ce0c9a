-- watchlist_data.longest_horizon(): the longest outcome horizon (setting
-- outcome_horizons_min) as an interval: how far after an event's start the labels read
-- raw rows, so how long the policies must keep them uncompressed and the jobs look back.
CREATE OR REPLACE FUNCTION watchlist_data.longest_horizon()
RETURNS interval
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT make_interval(mins => max(h))
      FROM watchlist_data.settings AS s
     CROSS JOIN LATERAL unnest(s.value::integer[]) AS h
     WHERE s.key = 'outcome_horizons_min'
$$;
REVOKE ALL ON FUNCTION watchlist_data.longest_horizon() FROM PUBLIC;
