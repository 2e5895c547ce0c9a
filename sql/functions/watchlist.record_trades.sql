-- watchlist.record_trades(rows): writer API for executed trades (watchlist_outcome), so
-- realised results sit next to the labels. rows is a JSON array of
--   {trade_ref (required, the operator's unique id), trigger_id (event id, optional),
--    exchange, symbol, opened_at (required, ISO 8601 with offset), closed_at, pnl,
--    max_drawdown, holding_hours (derived from opened/closed when absent),
--    benchmark_return, labels (object), notes}
-- Upsert by trade_ref: re-importing the same file changes nothing; a corrected row
-- replaces the old one. Returns one row per input row: its index, trade_ref, the stored
-- id, and the error when the row was refused (the other rows are still recorded); a key
-- that is not one of the fields above is an error of its row, naming the key.
CREATE OR REPLACE FUNCTION watchlist.record_trades(p_rows jsonb)
RETURNS TABLE (row_index integer, trade_ref text, id bigint, error text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_row   jsonb;
    v_ord   bigint;
    v_trade watchlist_data.watchlist_outcome;
    v_unknown text;
BEGIN
    IF p_rows IS NULL OR jsonb_typeof(p_rows) <> 'array' THEN
        RAISE EXCEPTION 'watchlist.record_trades expects a JSON array of trade objects' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR v_row, v_ord IN SELECT r.val, r.ord FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS r(val, ord) LOOP
        row_index := v_ord - 1;
        trade_ref := v_row ->> 'trade_ref';
        id := NULL; error := NULL;
        BEGIN
            IF NOT watchlist_data.has_utc_offset(coalesce(v_row ->> 'opened_at', '')) THEN
                RAISE EXCEPTION 'opened_at must be an ISO 8601 timestamp with a UTC offset' USING ERRCODE = 'invalid_datetime_format';
            END IF;
            IF (v_row ->> 'closed_at') IS NOT NULL AND NOT watchlist_data.has_utc_offset(v_row ->> 'closed_at') THEN
                RAISE EXCEPTION 'closed_at must be an ISO 8601 timestamp with a UTC offset' USING ERRCODE = 'invalid_datetime_format';
            END IF;
            v_trade := jsonb_populate_record(NULL::watchlist_data.watchlist_outcome, v_row - 'id' - 'recorded_at');
            -- a key that is not a column would be dropped silently (a typo: pnll, pnl NULL)
            v_unknown := (SELECT string_agg(k.key, ', ' ORDER BY k.key)
                            FROM jsonb_object_keys(v_row - ARRAY(SELECT jsonb_object_keys(to_jsonb(v_trade)))) AS k(key));
            IF v_unknown IS NOT NULL THEN
                RAISE EXCEPTION 'unknown field: % (a trade''s fields are the columns of watchlist.watchlist_outcome)', v_unknown
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            INSERT INTO watchlist_data.watchlist_outcome AS o (
                   trade_ref,
                   trigger_id,
                   exchange,
                   symbol,
                   opened_at,
                   closed_at,
                   pnl,
                   max_drawdown,
                   holding_hours,
                   benchmark_return,
                   labels,
                   notes)
            VALUES (v_trade.trade_ref,
                    v_trade.trigger_id,
                    v_trade.exchange,
                    v_trade.symbol,
                    v_trade.opened_at,
                    v_trade.closed_at,
                    v_trade.pnl,
                    v_trade.max_drawdown,
                    coalesce(v_trade.holding_hours, extract(epoch FROM v_trade.closed_at - v_trade.opened_at) / 3600),
                    v_trade.benchmark_return,
                    coalesce(v_trade.labels, '{}'::jsonb),
                    v_trade.notes)
            ON CONFLICT ON CONSTRAINT watchlist_outcome_trade_ref_key DO UPDATE
               SET trigger_id = EXCLUDED.trigger_id,
                   exchange = EXCLUDED.exchange,
                   symbol = EXCLUDED.symbol,
                   opened_at = EXCLUDED.opened_at,
                   closed_at = EXCLUDED.closed_at,
                   pnl = EXCLUDED.pnl,
                   max_drawdown = EXCLUDED.max_drawdown,
                   holding_hours = EXCLUDED.holding_hours,
                   benchmark_return = EXCLUDED.benchmark_return,
                   labels = EXCLUDED.labels,
                   notes = EXCLUDED.notes,
                   recorded_at = now()
            RETURNING o.id INTO id;
        EXCEPTION WHEN OTHERS THEN
            IF NOT watchlist_data.is_row_fault(SQLSTATE) THEN
                RAISE;  -- the server's state, not the trade's: the whole call fails
            END IF;
            error := format('%s [%s]', SQLERRM, SQLSTATE);
        END;
        RETURN NEXT;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION watchlist.record_trades(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.record_trades(jsonb) TO wl_writer;
