-- watchlist_data.compute_factors_keys(p_from, p_to, p_keys): (re)computes the rows of
-- watchlist_data.factor_value at the 5-minute bucket ends t in (p_from, p_to], for every key
-- with raw rows (p_keys NULL) or only the keys in p_keys (a jsonb array of [exchange, symbol]).
-- Formulas: the column comments of sql/0020_factor_value.sql (the one place they live). The
-- steps, the state they carry and how to add a factor: docs/factor-engine.md.
--
-- A row at t depends only on raw rows before t and on rows at or before t, so recomputing any
-- window gives the same rows, and rows after t never change it. The windows are not read in
-- steady state: three kinds of state carry what the next bucket end needs of them, each rolled
-- forward by one step function, and each gives the same values as reading the window (exact
-- numeric sums; the same slots and sorted arrays):
--   short-window slots  factor_window_state.r_*  (0070)  watchlist_data.factor_slots_step
--   12-hour sums        factor_window_state.w*, fb_*, factor_value.b_blk_* (0022)
--                                                        watchlist_data.factor_window_step
--   7-day funding       factor_funding_state (0060), factor_value.b_fstate_* (0021)
--                                                        watchlist_data.factor_funding_step
--   textbook indicators factor_value.b_run_n, b_rsi_*, b_ema*, b_macd_sig, b_dm_*, b_tr, b_adx
--                      on every row (0120)   watchlist_data.factor_smooth_step
-- Steps (each stages its output in a temp table pg_temp.wl_factor_*, emptied and filled again
-- at every bucket end, read by the later steps of that bucket end only; kept to the commit, so
-- a backfill creates each once and never accumulates the locks of dropped tables; staged
-- without ANALYZE: every join is hashed, and the planner sizes the tables from their pages):
--   0. drop the funding states that may include a row about to change;
--   1. watchlist_data.factor_base_step: the base of every bucket in the range;
--   2. for each bucket end t in time order (a row at t reads the rows written for t - 5 min):
--      2.1 wl_factor_cur: the rows at t with the row at t - 5 min's close, high, low and
--          recursion state, and whether each key reads its window (fullw);
--      2.2 wl_factor_window_rows: the rows in (t - 12 h - 5 min, t] of those keys;
--      2.3 factor_slots_step -> wl_factor_short: the slots and the short-window sums;
--      2.4 factor_window_step -> wl_factor_w12: the sums of W(t, 12 h) and its drawdown;
--      2.5 factor_smooth_step -> wl_factor_smooth: the textbook indicators and their state;
--      2.6 factor_funding_step -> wl_factor_funding: the 7-day funding statistics (and the
--          funding state written);
--      2.7 factor_write_step: the factors written on the rows at t, and the window state.
CREATE OR REPLACE FUNCTION watchlist_data.compute_factors_keys(p_from timestamptz, p_to timestamptz, p_keys jsonb DEFAULT NULL)
RETURNS TABLE (bucket_ends integer, base_rows bigint, factor_rows bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- The steps join per key; the planner estimates their inputs at a few rows and would nest-loop
-- them (quadratic in keys); hashes fit.
SET enable_nestloop = off
-- Nor merge them: for a merge join on (key, ts - 5 min) the planner sorts the 3-hour read
-- twice, where one hash does.
SET enable_mergejoin = off
-- JIT compilation would cost more than these short statements.
SET jit = off
-- The windows of every key are sorted and hashed in memory (7 x 800 keys: about 0.2 M rows a
-- bucket end).
SET work_mem = '128MB'
-- Every read of a hypertable is bounded by plain values (v_*), planned for them (custom
-- plans): the planner leaves chunks outside the windows out of the plan and never locks
-- them (a lock on a chunk the retention policy is dropping deadlocks it).
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    c_step        CONSTANT interval := INTERVAL '5 minutes';
    v_first       timestamptz;   -- the first and last bucket ends computed
    v_last        timestamptz;
    v_t           timestamptz;   -- the bucket end of the loop
    v_prev_t      timestamptz;   -- t - 5 min: the bucket end a rolled state must belong to
    -- W(t, 12 h) = (v_w12_lo, t]; v_w12_step_lo = t - 12 h - 5 min adds the step into its first row
    v_w12_lo      timestamptz;
    v_w12_step_lo timestamptz;
    v_hour        timestamptz;   -- t_h: the full hour at or before t
    v_on_hour     boolean;
    -- the drawdown's parts of W(t, 12 h): rows in (t - 12 h, v_blocks_lo], the hourly blocks
    -- in (v_blocks_lo, v_blocks_hi] (11 of them), rows in (v_blocks_hi, t]
    v_blocks_lo   timestamptz;
    v_blocks_hi   timestamptz;
    -- the exchanges and symbols of the keys that read their window (NULL: none): they bound
    -- the read of 2.2, which the join on wl_factor_cur.fullw makes exact
    v_read_ex     text[];
    v_read_sym    text[];
BEGIN
    IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to OR NOT isfinite(p_from) OR NOT isfinite(p_to) THEN
        RAISE EXCEPTION 'compute_factors: need finite p_from < p_to, got [%, %]', p_from, p_to
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_first := @extschema@.time_bucket(c_step, p_from) + c_step;
    v_last  := @extschema@.time_bucket(c_step, p_to);
    bucket_ends := 0; base_rows := 0; factor_rows := 0;
    IF v_last < v_first THEN
        RETURN NEXT;
        RETURN;
    END IF;
    bucket_ends := (extract(epoch FROM v_last - v_first) / 300)::integer + 1;

    -- 0. The funding samples kept for a full hour at or after the first bucket end recomputed
    --    here may include a row about to change: those keys read their samples again (0060).
    DELETE FROM watchlist_data.factor_funding_state AS s
     WHERE s.ts >= v_first
       AND (p_keys IS NULL OR (s.exchange, s.symbol) IN (SELECT k ->> 0, k ->> 1 FROM jsonb_array_elements(p_keys) AS k));

    -- 1. Base of each bucket, and the factors of the bucket alone.
    base_rows := watchlist_data.factor_base_step(v_first, v_last, p_keys);

    -- 2. Windowed factors, in time order.
    v_t := v_first;
    WHILE v_t <= v_last LOOP
        v_prev_t := v_t - c_step;
        v_w12_lo := v_t - INTERVAL '12 hours';
        v_w12_step_lo := v_t - INTERVAL '12 hours 5 minutes';
        v_hour := @extschema@.time_bucket(INTERVAL '1 hour', v_t);
        v_on_hour := v_hour = v_t;
        v_blocks_hi := CASE WHEN v_on_hour THEN v_t - INTERVAL '1 hour' ELSE v_hour END;
        v_blocks_lo := CASE WHEN v_on_hour THEN v_w12_lo ELSE v_hour - INTERVAL '11 hours' END;

        -- 2.1 The rows at t (one per key), each with the row at t - 5 min (p_*: its close, high,
        --     low and the recursion state of 0120; NULL without that row) and fullw: the key
        --     cannot roll its window state forward (no state for the row at t - 5 min as it
        --     stands, or a block missing), so it reads its window (2.2) instead.
        IF to_regclass('pg_temp.wl_factor_cur') IS NULL THEN
            CREATE TEMP TABLE wl_factor_cur (
                exchange    text,
                symbol      text,
                computed_at timestamptz,       -- the row at t, as its base step wrote it
                x           double precision,  -- b_spread_close
                f           double precision,  -- b_funding_close
                v           double precision,  -- b_volume_close
                trig        boolean,           -- b_triggered_last
                sn          integer,           -- b_spread_n
                ss          double precision,  -- b_spread_sum
                m2b         double precision,  -- b_spread_m2
                hi          double precision,  -- b_spread_high
                lo          double precision,  -- b_spread_low
                fullw       boolean,           -- the key reads its window (2.2) instead of rolling its state
                p_x         double precision,  -- the row at t - 5 min: b_spread_close, b_spread_high,
                p_hi        double precision,  -- b_spread_low, b_run_n, b_rsi_gain, b_rsi_loss, b_ema12,
                p_lo        double precision,  -- b_ema26, b_macd_sig, b_dm_plus, b_dm_minus, b_tr, b_adx
                p_n         integer,
                p_gain      double precision,
                p_loss      double precision,
                p_ema12     double precision,
                p_ema26     double precision,
                p_sig       double precision,
                p_dmp       double precision,
                p_dmm       double precision,
                p_tr        double precision,
                p_adx       double precision
            ) ON COMMIT DROP;
        ELSE
            TRUNCATE pg_temp.wl_factor_cur;
        END IF;
        INSERT INTO pg_temp.wl_factor_cur
        WITH keys AS (
            SELECT k ->> 0 AS exchange, k ->> 1 AS symbol FROM jsonb_array_elements(p_keys) AS k
        )
        SELECT c.exchange, c.symbol, c.computed_at, c.b_spread_close AS x, c.b_funding_close AS f, c.b_volume_close AS v,
               c.b_triggered_last AS trig, c.b_spread_n AS sn, c.b_spread_sum AS ss, c.b_spread_m2 AS m2b,
               c.b_spread_high AS hi, c.b_spread_low AS lo,
               NOT coalesce(s.ts = v_prev_t AND s.computed_at = p.computed_at AND s.r_x IS NOT NULL
                            AND (s.fb_lo = v_blocks_lo AND s.fb_hi = v_blocks_hi
                                 OR (SELECT count(*) FROM watchlist_data.factor_value AS h
                                      WHERE h.exchange = c.exchange AND h.symbol = c.symbol AND h.b_on_hour
                                        AND h.ts > v_blocks_lo AND h.ts <= v_blocks_hi AND h.b_blk_n IS NOT NULL) = 11), false) AS fullw,
               p.b_spread_close, p.b_spread_high, p.b_spread_low, p.b_run_n, p.b_rsi_gain, p.b_rsi_loss,
               p.b_ema12, p.b_ema26, p.b_macd_sig, p.b_dm_plus, p.b_dm_minus, p.b_tr, p.b_adx
          FROM watchlist_data.factor_value AS c
          LEFT JOIN watchlist_data.factor_window_state AS s ON s.exchange = c.exchange AND s.symbol = c.symbol
          LEFT JOIN watchlist_data.factor_value AS p ON p.exchange = c.exchange AND p.symbol = c.symbol AND p.ts = v_prev_t
         WHERE c.ts = v_t
           AND (p_keys IS NULL OR (c.exchange, c.symbol) IN (SELECT keys.exchange, keys.symbol FROM keys));
        -- the keys that read their window (NULL: none)
        SELECT array_agg(DISTINCT cur.exchange), array_agg(DISTINCT cur.symbol) INTO v_read_ex, v_read_sym
          FROM pg_temp.wl_factor_cur AS cur WHERE cur.fullw;

        -- 2.2 The keys that read their window: their rows in (t - 12 h - 5 min, t], W(t, 12 h)
        --     and the step into it, each with k1 (its slot: the row at t - (k1 - 1) x 5 min), the
        --     row before it (pts, px), the running maximum of x in W (runmax) and in the blocks'
        --     span (rmfb). Empty when every key rolls its state.
        IF to_regclass('pg_temp.wl_factor_window_rows') IS NULL THEN
            CREATE TEMP TABLE wl_factor_window_rows (
                exchange text,
                symbol   text,
                ts       timestamptz,
                x        double precision,  -- the row's b_spread_close, b_spread_n, b_spread_sum, b_spread_m2,
                sn       integer,           -- b_volume_close, rv_1h, signal_persistence_min
                ss       double precision,
                m2b      double precision,
                v        double precision,
                rv       double precision,
                pers     double precision,
                k1       integer,           -- its slot: the row at t - (k1 - 1) x 5 min
                pts      timestamptz,       -- the key's row before it: ts and x
                px       double precision,
                runmax   double precision,  -- running maximum of x over the rows in W(t, 12 h)
                rmfb     double precision   -- ... and over the rows in (blocks_lo, blocks_hi]
            ) ON COMMIT DROP;
        ELSE
            TRUNCATE pg_temp.wl_factor_window_rows;
        END IF;
        IF v_read_ex IS NOT NULL THEN   -- none in steady state: neither the read nor its plan
            INSERT INTO pg_temp.wl_factor_window_rows
            SELECT h.exchange, h.symbol, h.ts, h.b_spread_close AS x, h.b_spread_n AS sn, h.b_spread_sum AS ss,
                   h.b_spread_m2 AS m2b, h.b_volume_close AS v, h.rv_1h AS rv, h.signal_persistence_min AS pers,
                   (extract(epoch FROM v_t - h.ts) / 300)::integer + 1 AS k1,
                   lag(h.ts) OVER w AS pts, lag(h.b_spread_close) OVER w AS px,
                   max(h.b_spread_close) FILTER (WHERE h.ts > v_w12_lo) OVER w AS runmax,
                   max(h.b_spread_close) FILTER (WHERE h.ts > v_blocks_lo AND h.ts <= v_blocks_hi) OVER w AS rmfb
              FROM watchlist_data.factor_value AS h
              JOIN pg_temp.wl_factor_cur AS cur ON cur.exchange = h.exchange AND cur.symbol = h.symbol AND cur.fullw
             WHERE h.ts > v_w12_step_lo AND h.ts <= v_t AND h.exchange = ANY(v_read_ex) AND h.symbol = ANY(v_read_sym)
            -- the partitions compare the keys bytewise (COLLATE "C": the same partitions, as text
            -- equality is bytewise under any deterministic collation, without strcoll in the sorts)
            WINDOW w AS (PARTITION BY h.exchange COLLATE "C", h.symbol COLLATE "C" ORDER BY h.ts);
        END IF;

        -- 2.3 - 2.7: one function per kind of state; see each one's header for its contract.
        PERFORM watchlist_data.factor_slots_step(v_t, v_blocks_hi);
        PERFORM watchlist_data.factor_window_step(v_t, v_blocks_lo, v_blocks_hi);
        PERFORM watchlist_data.factor_smooth_step();
        PERFORM watchlist_data.factor_funding_step(v_t);
        factor_rows := factor_rows + watchlist_data.factor_write_step(v_t, v_blocks_lo, v_blocks_hi);

        v_t := v_t + c_step;
    END LOOP;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION watchlist_data.compute_factors_keys(timestamptz, timestamptz, jsonb) FROM PUBLIC;
