-- watchlist.factor_catalog(from, to): every factor the factor lab ranks, under the name
-- watchlist.event_factors gives it, with its source and definition and its coverage over
-- [from, to) (share of rows with a value; rows = raw rows for the app's factors, factor_value
-- rows for the database's):
--   app       the core factor columns of watch_signal_raw (by name) and the numeric keys of
--             meta.factors ('meta.<key>'), as the monitor sends them
--   database  the factor columns of watchlist_data.factor_value ('db.<column>'); the
--             definition is the column's comment in sql/0020_factor_value.sql (its one place)
-- `wldb factors` prints it.
CREATE OR REPLACE FUNCTION watchlist.factor_catalog(p_from timestamptz DEFAULT now() - INTERVAL '1 day',
                                                    p_to timestamptz DEFAULT now())
RETURNS TABLE (factor text, source text, definition text, n_rows bigint, n_values bigint, coverage double precision)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_sql  text;
    v_defs jsonb;
    v_cols text[];
BEGIN
    -- database factors
    SELECT format('SELECT c.name, c.def, t.n, (t.v ->> c.name)::bigint FROM (SELECT count(*) AS n, jsonb_build_object(%s) AS v
                     FROM watchlist_data.factor_value WHERE ts >= $1 AND ts < $2) AS t,
                   (SELECT * FROM jsonb_each_text($3)) AS c(name, def)',
                  string_agg(format('%L, count(%I)', a.attname, a.attname), ', ' ORDER BY a.attnum)),
           jsonb_object_agg(a.attname, regexp_replace(coalesce(col_description(a.attrelid, a.attnum), ''), '^factor: ', ''))
      INTO v_sql, v_defs
      FROM pg_attribute AS a
     WHERE a.attrelid = 'watchlist_data.factor_value'::regclass AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attname NOT IN ('ts', 'exchange', 'symbol', 'computed_at') AND a.attname NOT LIKE 'b\_%';
    FOR factor, definition, n_rows, n_values IN EXECUTE v_sql USING p_from, p_to, v_defs LOOP
        factor := 'db.' || factor;
        source := 'database';
        coverage := n_values::float8 / nullif(n_rows, 0);
        RETURN NEXT;
    END LOOP;

    -- the app's core factor columns (numbers of watch_signal_raw but keys, prices and the funding interval)
    SELECT format('SELECT c.name, t.n, (t.v ->> c.name)::bigint FROM (SELECT count(*) AS n, jsonb_build_object(%s) AS v
                     FROM watchlist_data.watch_signal_raw WHERE ts >= $1 AND ts < $2) AS t,
                   unnest($3::text[]) AS c(name)',
                  string_agg(format('%L, count(%I)', a.attname, a.attname), ', ' ORDER BY a.attnum)),
           array_agg(a.attname::text ORDER BY a.attnum)
      INTO v_sql, v_cols
      FROM pg_attribute AS a
     WHERE a.attrelid = 'watchlist_data.watch_signal_raw'::regclass AND a.attnum > 0 AND NOT a.attisdropped
       AND a.atttypid IN ('double precision'::regtype, 'integer'::regtype)
       AND a.attname NOT IN ('spot_price', 'futures_price', 'funding_interval_hours');
    FOR factor, n_rows, n_values IN EXECUTE v_sql USING p_from, p_to, v_cols LOOP
        source := 'app';
        definition := 'sent by the app: watch_signal_raw.' || factor;
        coverage := n_values::float8 / nullif(n_rows, 0);
        RETURN NEXT;
    END LOOP;

    -- the app's long-tail factors (numeric keys of meta.factors)
    RETURN QUERY
    SELECT 'meta.' || k.key, 'app'::text, 'sent by the app: meta.factors.' || k.key, t.n, count(*), count(*)::float8 / t.n
      FROM watchlist_data.watch_signal_raw AS r
     CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(r.meta -> 'factors') = 'object' THEN r.meta -> 'factors' ELSE '{}' END) AS k
     CROSS JOIN (SELECT count(*) AS n FROM watchlist_data.watch_signal_raw AS x WHERE x.ts >= p_from AND x.ts < p_to) AS t
     WHERE r.ts >= p_from AND r.ts < p_to AND jsonb_typeof(k.value) = 'number'
     GROUP BY k.key, t.n
     ORDER BY 1;
END
$$;
REVOKE ALL ON FUNCTION watchlist.factor_catalog(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.factor_catalog(timestamptz, timestamptz) TO wl_reader;
