-- watchlist.merge_events_incremental(p_now): the event merge job's unit of work. Reads only
-- raw rows ingested since the last run (ingestion watermark in watchlist_data.job_state,
-- minus watchlist_data.incremental_overlap() for writers whose transactions commit late) whose ts lies in
-- the look-back window [p_now - event_lookback, ...), and merges them with
-- watchlist.merge_events(). The watermark is stored in the same transaction as the events.
-- Late rows inside the look-back are merged as if they had arrived on time; rows older
-- than the look-back are not (run watchlist.merge_events(from, to) for such a window).
CREATE OR REPLACE FUNCTION watchlist.merge_events_incremental(p_now timestamptz DEFAULT now())
RETURNS TABLE (keys integer, samples bigint, inserted integer, updated integer, deleted integer,
               open_events integer, watermark timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_wm      timestamptz;
    r         record;
BEGIN
    PERFORM watchlist_data.take_job_lock('merge_events');
    SELECT s.watermark INTO v_wm FROM watchlist_data.job_state AS s WHERE s.job = 'merge_events';
    SELECT * INTO r FROM watchlist.merge_events(
        p_now - watchlist_data.setting('event_lookback')::interval, 'infinity', p_now, v_wm - watchlist_data.incremental_overlap());
    INSERT INTO watchlist_data.job_state AS s (job, watermark, last_run_at, last_stats)
    VALUES ('merge_events', coalesce(greatest(v_wm, r.watermark), '-infinity'), now(), to_jsonb(r))
    ON CONFLICT (job) DO UPDATE
       SET watermark = EXCLUDED.watermark, last_run_at = EXCLUDED.last_run_at, last_stats = EXCLUDED.last_stats;
    keys := r.keys; samples := r.samples; inserted := r.inserted; updated := r.updated;
    deleted := r.deleted; open_events := r.open_events; watermark := coalesce(greatest(v_wm, r.watermark), '-infinity');
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION watchlist.merge_events_incremental(timestamptz) FROM PUBLIC;
