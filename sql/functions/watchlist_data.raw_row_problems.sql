-- watchlist_data.raw_row_problems(row, earliest, latest): every reason the writer API refuses
-- a raw row, one (field, reason) per problem; no rows = the row is good. Mirrors the table's
-- CHECK constraints so a good row never fails the INSERT, and adds what a constraint cannot
-- say: wrong JSON types, unknown fields, oversize meta, a number outside its field's accepted
-- range (watchlist_data.raw_field_range()), a timestamp not in the one accepted form
-- (ISO 8601 with a numeric UTC offset) or outside the window: ts in [earliest, latest]
-- (ingest_raw: now() - raw_retention, now() + the future skew), next_funding_time within
-- watchlist_data.raw_input_bound('nft_before' / 'nft_after') of ts. Never raises for any row:
-- every cast is guarded, so a bad row can only be reported, never cost its batch.
CREATE OR REPLACE FUNCTION watchlist_data.raw_row_problems(p_row jsonb, p_earliest timestamptz, p_latest timestamptz)
RETURNS TABLE (field text, reason text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- the one accepted form: ISO 8601, T or space, seconds and up to 6 fraction digits
    -- optional, a numeric offset (Z, +HH, +HHMM, +HH:MM); c_naive: the same without offset
    c_iso         CONSTANT text := '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)$';
    c_naive       CONSTANT text := '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$';
    c_max_future  CONSTANT interval := watchlist_data.raw_input_bound('future_skew');
    c_meta_bytes  CONSTANT integer := watchlist_data.meta_max_bytes();
    v_key   text;
    v_val   jsonb;
    v_kind  text;
    v_type  text;
    v_num   double precision;
    v_ts    timestamptz;
    v_row_ts timestamptz;   -- ts, when valid (for the next_funding_time window)
    v_nft   timestamptz;    -- next_funding_time, when valid
    v_lo    double precision;
    v_hi    double precision;
    v_lo_open boolean;
    v_hi_open boolean;
    v_min_abs double precision;
    v_unknown integer := 0;
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
            -- each of the first 10 named (the name cut to 64 characters), the rest counted in
            -- one problem: a row of 20,000 unknown keys is one refused row, not 20,000 reports
            v_unknown := v_unknown + 1;
            IF v_unknown <= 10 THEN
                field := left(v_key, 64);
                reason := 'unknown field (long-tail values belong in meta)'; RETURN NEXT;
            END IF;
            CONTINUE;
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
                EXCEPTION WHEN OTHERS THEN  -- e.g. 1e400 or 1e-400: out of range
                    reason := format('not a finite number (out of the range of double precision): %s', left(v_val::text, 32));
                    RETURN NEXT; CONTINUE;
                END;
                SELECT r.lo, r.hi, r.lo_open, r.hi_open, r.min_abs INTO v_lo, v_hi, v_lo_open, v_hi_open, v_min_abs
                  FROM watchlist_data.raw_field_range() AS r WHERE r.field = v_key;
                IF v_num IN ('Infinity'::float8, '-Infinity'::float8) THEN
                    reason := 'not a finite number (overflows double precision)'; RETURN NEXT;
                ELSIF v_kind = 'integer' AND (v_num <> trunc(v_num) OR v_num < 0) THEN
                    reason := format('expected a non-negative whole number, got %s', v_val); RETURN NEXT;
                ELSIF v_lo IS NOT NULL AND (v_num < v_lo OR (v_lo_open AND v_num = v_lo)) THEN
                    reason := format('must be %s %s, got %s', CASE WHEN v_lo_open THEN '>' ELSE '>=' END, v_lo, v_num); RETURN NEXT;
                ELSIF v_hi IS NOT NULL AND (v_num > v_hi OR (v_hi_open AND v_num = v_hi)) THEN
                    reason := format('must be %s %s, got %s', CASE WHEN v_hi_open THEN '<' ELSE '<=' END, v_hi, v_num); RETURN NEXT;
                ELSIF v_num <> 0 AND abs(v_num) < v_min_abs THEN
                    reason := format('must be 0 or at least %s from 0, got %s', v_min_abs, v_num); RETURN NEXT;
                END IF;
            END IF;
        WHEN 'boolean' THEN
            IF v_type <> 'boolean' THEN
                reason := format('expected true or false, got %s', v_type); RETURN NEXT;
            END IF;
        WHEN 'timestamp' THEN
            IF v_type <> 'string' THEN
                reason := format('expected an ISO 8601 timestamp string, got %s', v_type); RETURN NEXT;
            ELSIF (v_val #>> '{}') ~ c_naive THEN
                reason := format('timestamp has no UTC offset (naive): %s', left(v_val #>> '{}', 64)); RETURN NEXT;
            ELSIF (v_val #>> '{}') !~ c_iso THEN
                reason := format('not an ISO 8601 timestamp with a numeric UTC offset (YYYY-MM-DDTHH:MM[:SS[.ffffff]] then Z, +HH, +HHMM or +HH:MM): %s',
                                 left(v_val #>> '{}', 64)); RETURN NEXT;
            ELSE
                v_ts := NULL;
                BEGIN
                    v_ts := (v_val #>> '{}')::timestamptz;
                EXCEPTION WHEN OTHERS THEN
                    reason := format('not a valid timestamp: %s', left(v_val #>> '{}', 64)); RETURN NEXT;
                END;
                IF v_ts IS NOT NULL AND v_key = 'ts' THEN
                    IF v_ts > p_latest THEN
                        reason := format('timestamp is in the future (%s > now + %s)', v_ts, c_max_future); RETURN NEXT;
                    ELSIF v_ts < p_earliest THEN
                        reason := format('timestamp is older than the raw_retention window (%s < %s)', v_ts, p_earliest); RETURN NEXT;
                    ELSE
                        v_row_ts := v_ts;
                    END IF;
                ELSIF v_ts IS NOT NULL THEN
                    v_nft := v_ts;
                END IF;
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
    IF v_unknown > 10 THEN
        field := '(row)'; reason := format('%s more unknown fields', v_unknown - 10); RETURN NEXT;
    END IF;
    IF v_row_ts IS NOT NULL AND v_nft IS NOT NULL
       AND v_nft NOT BETWEEN v_row_ts - watchlist_data.raw_input_bound('nft_before') AND v_row_ts + watchlist_data.raw_input_bound('nft_after') THEN
        field := 'next_funding_time';
        reason := format('must be within %s before and %s after ts, got %s for ts %s',
                         watchlist_data.raw_input_bound('nft_before'), watchlist_data.raw_input_bound('nft_after'), v_nft, v_row_ts);
        RETURN NEXT;
    END IF;
END
$$;
