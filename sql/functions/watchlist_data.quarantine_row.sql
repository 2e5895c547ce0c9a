-- watchlist_data.quarantine_row(row): a refused row as ingest_quarantine.row_data keeps it:
-- whole when its JSON text is at most watchlist_data.quarantine_row_max_bytes(); else cut to
-- that limit, so a flood of huge bad rows cannot fill the disk: every field whose value is
-- over a sixteenth of the limit becomes the string "(dropped: oversize)" and every key over
-- 256 bytes is cut to 64 characters; a row still over the limit (or not an object) is kept as
-- {"(truncated)": <the start of its JSON text>, "bytes": <its full size>}. The result is
-- never over the limit.
CREATE OR REPLACE FUNCTION watchlist_data.quarantine_row(p_row jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c_max  CONSTANT integer := watchlist_data.quarantine_row_max_bytes();
    v_text text := p_row::text;
    v_cut  jsonb;
BEGIN
    IF p_row IS NULL OR octet_length(v_text) <= c_max THEN
        RETURN p_row;
    END IF;
    IF jsonb_typeof(p_row) = 'object' THEN
        SELECT jsonb_object_agg(CASE WHEN octet_length(e.key) > 256 THEN left(e.key, 64) || '...(key cut)' ELSE e.key END,
                                CASE WHEN octet_length(e.value::text) > c_max / 16 THEN '"(dropped: oversize)"'::jsonb ELSE e.value END)
          INTO v_cut
          FROM jsonb_each(p_row) AS e;
        IF octet_length(v_cut::text) <= c_max THEN
            RETURN v_cut;
        END IF;
    END IF;
    -- at most 4 bytes a character, and room for the wrapper: never over the limit
    RETURN jsonb_build_object('(truncated)', left(v_text, c_max / 4 - 64), 'bytes', octet_length(v_text));
END
$$;
REVOKE ALL ON FUNCTION watchlist_data.quarantine_row(jsonb) FROM PUBLIC;
