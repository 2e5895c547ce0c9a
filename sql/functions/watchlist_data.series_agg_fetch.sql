-- watchlist_data.series_agg_fetch(exchange, symbol, from, to, watermark): the rows of
-- watchlist_data.series_agg_rows, read by a statement of its own, planned on every call for
-- these values (custom plan): only the chunks inside [from, to) are in its plan and locked
-- (see watchlist_data.typea_stats). A caller that reads the hypertables only through it
-- can keep a generic plan of its own statement (watchlist.series): the statement that
-- gap-fills, windows and joins the markers is then planned once per session, not per call.
-- Not SECURITY DEFINER: private, called by the read API's SECURITY DEFINER functions.
DROP FUNCTION IF EXISTS watchlist_data.series_agg_fetch(text, text, timestamptz, timestamptz, timestamptz);
CREATE OR REPLACE FUNCTION watchlist_data.series_agg_fetch(p_exchange text, p_symbol text, p_from timestamptz,
                                                           p_to timestamptz, p_wm timestamptz)
RETURNS TABLE (bucket timestamptz, at timestamptz, n_rows bigint, type_class text, spot_price double precision,
               futures_price double precision, spread_rel double precision, funding_rate double precision,
               funding_interval_hours double precision, next_funding_time timestamptz, crossings_1h integer,
               drift_ratio double precision, spread_n bigint, spread_sum double precision,
               spread_sumsq double precision, spread_min double precision, spread_max double precision,
               t_sum double precision, t_sumsq double precision, ty_sum double precision)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
    RETURN QUERY SELECT * FROM watchlist_data.series_agg_rows(p_exchange, p_symbol, p_from, p_to, p_wm);
END
$$;
REVOKE ALL ON FUNCTION watchlist_data.series_agg_fetch(text, text, timestamptz, timestamptz, timestamptz) FROM PUBLIC;
