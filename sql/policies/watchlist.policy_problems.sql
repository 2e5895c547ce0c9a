-- watchlist.policy_problems(): every inconsistency between the settings that drive the
-- TimescaleDB policies, one row each (empty = consistent). Checked by apply_policies()
-- before it changes anything, by `wldb doctor`, and by the pgTAP policy audit.
--   * a refresh window that reaches past the retention of its source would re-materialise
--     dropped data as empty buckets (the classic caggs + retention pitfall);
--   * compression or retention younger than the longest outcome horizon / merge look-back
--     would make the labelling and merge jobs read data that is gone or being rewritten.
CREATE OR REPLACE FUNCTION watchlist.policy_problems()
RETURNS TABLE (problem text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_raw_ret      interval := watchlist_data.setting('raw_retention')::interval;
    v_compress     interval := watchlist_data.setting('raw_compress_after')::interval;
    v_series_ret   interval := watchlist_data.setting('series_retention')::interval;
    v_typea_ret    interval := watchlist_data.setting('typea_stats_retention')::interval;
    v_series_start interval := watchlist_data.setting('series_refresh_start')::interval;
    v_series_end   interval := watchlist_data.setting('series_refresh_end')::interval;
    v_typea_start  interval := watchlist_data.setting('typea_refresh_start')::interval;
    v_typea_end    interval := watchlist_data.setting('typea_refresh_end')::interval;
    v_history_ret  interval := watchlist_data.setting('history_retention')::interval;
    v_lookback     interval := watchlist_data.setting('event_lookback')::interval;
    v_horizon      interval := watchlist_data.longest_horizon();
BEGIN
    IF v_series_start >= v_raw_ret THEN
        problem := format('series_refresh_start (%s) must be shorter than raw_retention (%s)', v_series_start, v_raw_ret); RETURN NEXT;
    END IF;
    IF v_series_start >= v_series_ret THEN
        problem := format('series_refresh_start (%s) must be shorter than series_retention (%s)', v_series_start, v_series_ret); RETURN NEXT;
    END IF;
    IF v_typea_start >= v_series_ret THEN
        problem := format('typea_refresh_start (%s) must be shorter than series_retention (%s), the retention of its source', v_typea_start, v_series_ret); RETURN NEXT;
    END IF;
    IF v_typea_start >= v_typea_ret THEN
        problem := format('typea_refresh_start (%s) must be shorter than typea_stats_retention (%s)', v_typea_start, v_typea_ret); RETURN NEXT;
    END IF;
    IF v_series_end >= v_series_start OR v_typea_end >= v_typea_start THEN
        problem := 'a refresh window must end (end offset) after it starts (start offset)'; RETURN NEXT;
    END IF;
    IF v_typea_end < INTERVAL '1 hour' THEN
        problem := format('typea_refresh_end (%s) must be at least one hourly bucket (1 hour)', v_typea_end); RETURN NEXT;
    END IF;
    IF v_series_ret < INTERVAL '12 hours' THEN
        problem := format('series_retention (%s) must cover the 12 h chart', v_series_ret); RETURN NEXT;
    END IF;
    IF v_typea_ret < INTERVAL '12 hours' THEN
        problem := format('typea_stats_retention (%s) must cover the 12 h Type A window', v_typea_ret); RETURN NEXT;
    END IF;
    IF v_compress <= v_horizon + v_lookback THEN
        problem := format('raw_compress_after (%s) must exceed the longest outcome horizon (%s) plus the merge look-back (%s)', v_compress, v_horizon, v_lookback); RETURN NEXT;
    END IF;
    IF v_raw_ret <= v_compress THEN
        problem := format('raw_retention (%s) must be longer than raw_compress_after (%s)', v_raw_ret, v_compress); RETURN NEXT;
    END IF;
    IF v_raw_ret <= v_horizon + v_lookback THEN
        problem := format('raw_retention (%s) must exceed the longest outcome horizon plus the merge look-back', v_raw_ret); RETURN NEXT;
    END IF;
    IF v_history_ret <= v_raw_ret THEN
        problem := format('history_retention (%s) should be longer than raw_retention (%s): events outlive their minutes', v_history_ret, v_raw_ret); RETURN NEXT;
    END IF;
END
$$;
REVOKE ALL ON FUNCTION watchlist.policy_problems() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.policy_problems() TO wl_reader;
