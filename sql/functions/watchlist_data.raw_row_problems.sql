-- watchlist_data.raw_row_problems(row, now): every reason the writer API refuses a raw row,
-- one (field, reason) per problem; no rows = the row is good. Mirrors the table's CHECK
-- constraints so a good row never fails the INSERT, and adds what a constraint cannot say:
-- wrong JSON types, naive or far-future timestamps, unknown fields, oversize meta.
CREATE OR REPLACE FUNCTION watchlist_data.raw_row_problems(p_row jsonb, p_now timestamptz)
RETURNS TABLE (field text, reason text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c_iso         CONSTANT text := '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?';
    c_max_future  CONSTANT interval := INTERVAL '5 minutes';
    c_meta_bytes  CONSTANT integer := watchlist_data.meta_max_bytes();
    v_key   text;
    v_val   jsonb;
    v_kind  text;
    v_type  text;
    v_num   double precision;
    v_ts    timestamptz;
BEGIN
    IF p_row IS NULL OR jsonb_typeof(p_row) <> 'object' THEN
        field := '(row)'; reason := 'a row must be a JSON object'; RETURN NEXT; RETURN;
    END IF;
    FOREACH v_key IN ARRAY ARRAY['ts', 'exchange', 'symbol', 'triggered'] LOOP
        IF NOT p_row ? v_key OR jsonb_typeof(p_row -> v_key) = 'null' THEN
            field := v_key; reason := 'required field is missing'; RETURN NEXT;
        END IF;
    END LOOP;
    IF coalesce(jsonb_typeof(p_row -> 'signal_type'), 'null') = 'null'
       AND coalesce(jsonb_typeof(p_row -> 'type_class'), 'null') = 'null' THEN
        field := 'signal_type'; reason := 'required field is missing (give signal_type or type_class)'; RETURN NEXT;
    END IF;

    FOR v_key, v_val IN SELECT e.key, e.value FROM jsonb_each(p_row) AS e LOOP
        v_kind := watchlist_data.raw_field_kind(v_key);
        v_type := jsonb_typeof(v_val);
        field := v_key;
        IF v_kind IS NULL THEN
            reason := 'unknown field (long-tail values belong in meta)'; RETURN NEXT; CONTINUE;
        END IF;
        CONTINUE WHEN v_type = 'null';
        CASE v_kind
        WHEN 'number', 'integer' THEN
            IF v_type = 'string' AND lower(v_val #>> '{}') IN ('nan', 'infinity', '-infinity', 'inf', '-inf', '+inf', '+infinity') THEN
                reason := format('not a finite number: %s', v_val #>> '{}'); RETURN NEXT;
            ELSIF v_type <> 'number' THEN
                reason := format('expected a number, got %s', v_type); RETURN NEXT;
            ELSE
                BEGIN
                    v_num := (v_val #>> '{}')::double precision;
                EXCEPTION WHEN numeric_value_out_of_range THEN  -- e.g. 1e400 or 1e-400
                    reason := format('not a finite number (out of the range of double precision): %s', left(v_val::text, 32));
                    RETURN NEXT; CONTINUE;
                END;
                IF v_num IN ('Infinity'::float8, '-Infinity'::float8) THEN
                    reason := 'not a finite number (overflows double precision)'; RETURN NEXT;
                ELSIF v_kind = 'integer' AND (v_num <> trunc(v_num) OR v_num < 0 OR v_num > 2147483647) THEN
                    reason := format('expected a non-negative whole number, got %s', v_val); RETURN NEXT;
                ELSIF v_key IN ('spot_price', 'futures_price') AND v_num <= 0 THEN
                    reason := format('must be > 0, got %s', v_val); RETURN NEXT;
                ELSIF v_key = 'funding_interval_hours' AND (v_num <= 0 OR v_num > 168) THEN
                    reason := format('must be in (0, 168] hours, got %s', v_val); RETURN NEXT;
                ELSIF v_key IN ('range_1h', 'range_12h', 'volatility', 'volume_quote', 'sweep_impact',
                                'bid_ask_spread', 'funding_vol_7d', 'rv_1h', 'rv_12h', 'hv_ratio') AND v_num < 0 THEN
                    reason := format('must be >= 0, got %s', v_val); RETURN NEXT;
                END IF;
            END IF;
        WHEN 'boolean' THEN
            IF v_type <> 'boolean' THEN
                reason := format('expected true or false, got %s', v_type); RETURN NEXT;
            END IF;
        WHEN 'timestamp' THEN
            IF v_type <> 'string' THEN
                reason := format('expected an ISO 8601 timestamp string, got %s', v_type); RETURN NEXT;
            ELSIF (v_val #>> '{}') !~ c_iso THEN
                reason := format('not an ISO 8601 timestamp: %s', left(v_val #>> '{}', 64)); RETURN NEXT;
            ELSIF NOT watchlist_data.has_utc_offset(v_val #>> '{}') THEN
                reason := format('timestamp has no UTC offset (naive): %s', left(v_val #>> '{}', 64)); RETURN NEXT;
            ELSE
                BEGIN
                    v_ts := (v_val #>> '{}')::timestamptz;
                    IF v_key = 'ts' AND v_ts > p_now + c_max_future THEN
                        reason := format('timestamp is in the future (%s > now + %s)', v_ts, c_max_future); RETURN NEXT;
                    END IF;
                EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format OR invalid_time_zone_displacement_value THEN
                    reason := format('not a valid timestamp: %s', left(v_val #>> '{}', 64)); RETURN NEXT;
                END;
            END IF;
        WHEN 'exchange' THEN
            IF v_type <> 'string' OR (v_val #>> '{}') !~ '^[a-z0-9_.-]{1,32}$' THEN
                reason := 'exchange must be 1-32 characters of a-z 0-9 _ . -'; RETURN NEXT;
            END IF;
        WHEN 'symbol' THEN
            IF v_type <> 'string' OR (v_val #>> '{}') !~ '^[A-Z0-9_.:/-]{1,40}$' THEN
                reason := 'symbol must be 1-40 characters of A-Z 0-9 _ . : / -'; RETURN NEXT;
            END IF;
        WHEN 'class' THEN
            IF v_type <> 'string' OR (v_val #>> '{}') NOT IN ('A', 'B', 'C') THEN
                reason := format('must be A, B or C, got %s', left(v_val::text, 32)); RETURN NEXT;
            END IF;
        WHEN 'status' THEN
            IF v_type <> 'string' OR (v_val #>> '{}') NOT IN ('watching', 'triggered', 'cooldown', 'paused', 'removed') THEN
                reason := format('unknown status %s (known: watching, triggered, cooldown, paused, removed)', left(v_val::text, 32)); RETURN NEXT;
            END IF;
        WHEN 'meta' THEN
            IF v_type <> 'object' THEN
                reason := format('meta must be a JSON object, got %s', v_type); RETURN NEXT;
            ELSIF pg_column_size(v_val) > c_meta_bytes THEN
                reason := format('meta is %s bytes, over the %s-byte limit', pg_column_size(v_val), c_meta_bytes); RETURN NEXT;
            END IF;
        END CASE;
    END LOOP;
END
$$;
