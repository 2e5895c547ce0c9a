-- 0085: the jobs serialise on rows of a private table instead of advisory locks. Any
-- login may take any advisory key (pg_advisory_lock(hashtext('watchlist-db:merge_events'))
-- from a role in no wl_ group stalled the merge and label jobs until they timed out); a
-- row of watchlist_data.job_lock can be locked only by a role that may UPDATE it, and only
-- wl_owner (and superusers) may even see the schema. One row per serialised activity,
-- locked FOR UPDATE to the end of the locking transaction by watchlist_data.take_job_lock.
CREATE TABLE watchlist_data.job_lock (
    name text NOT NULL PRIMARY KEY
);
INSERT INTO watchlist_data.job_lock (name) VALUES
    ('merge_events'), ('label_outcomes'), ('compute_factors'), ('membership')
ON CONFLICT (name) DO NOTHING;
REVOKE ALL ON watchlist_data.job_lock FROM PUBLIC;
