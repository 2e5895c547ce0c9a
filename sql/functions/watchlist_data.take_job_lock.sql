-- watchlist_data.take_job_lock(name): wait for, then hold to the end of the transaction,
-- the job lock `name` (a row of watchlist_data.job_lock, locked FOR UPDATE): the same
-- semantics as pg_advisory_xact_lock, on a lock no role but wl_owner (and superusers) can
-- take. Private: called from the owner's SECURITY DEFINER functions (the jobs), which run
-- as wl_owner. Raises when the name is unknown, so a typo never silently serialises nothing.
CREATE OR REPLACE FUNCTION watchlist_data.take_job_lock(p_name text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM FROM watchlist_data.job_lock AS l WHERE l.name = p_name FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown watchlist-db job lock "%"', p_name
            USING ERRCODE = 'undefined_object',
                  HINT = 'SELECT name FROM watchlist_data.job_lock lists them (created by migration 0085).';
    END IF;
END
$$;
REVOKE ALL ON FUNCTION watchlist_data.take_job_lock(text) FROM PUBLIC;
