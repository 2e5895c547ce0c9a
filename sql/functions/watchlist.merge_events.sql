-- watchlist.merge_events(p_from, p_to, p_now, p_since): merge triggered raw samples into
-- events (gaps and islands), exactly and idempotently, for every (exchange, symbol,
-- signal_type) with raw rows in [p_from, p_to) (and, when p_since is given, ingested after
-- p_since). The incremental job calls it through watchlist.merge_events_incremental().
--
-- THE RULE (the seed plan: "the threshold met for N consecutive minutes makes an event
-- (N = 2); re-triggering within the M-minute cooldown (M = 3) is the same event").
-- Settings: N = event_min_minutes, M = event_cooldown_minutes, H = event_max_sample_gap.
--   * A key's samples are its raw rows, in ts order; a sample is triggered or not.
--   * Off time: the signal counts as off from the first untriggered sample after a
--     triggered one, or from the last sample before a hole in the data (two consecutive
--     samples more than H apart: the unknown stretch counts as off), whichever is first.
--   * ISLAND (the event): triggered samples whose off time between them is at most M.
--     Gap <= M: same event; gap > M: the later sample starts a new event. At 1-minute
--     sampling 3 untriggered minutes (gap = M) keep the event, 4 split it; at 5-minute
--     sampling one untriggered sample is already 5 minutes off.
--   * RUN: consecutive triggered samples: no untriggered sample and no hole longer than H
--     between them. A run "lasts N minutes" when last - first >= N - 1 minutes: N samples at
--     1-minute sampling, 2N - 1 at 30 s, 2 at 5 minutes; never a single sample (N >= 2).
--   * confirmed_at: the time of the first sample at which the island holds such a run
--     (the sample that completes it): the first moment a live system knows the event.
--     Entry time of research = entry_ts (a column of the event table, = confirmed_at).
--   * status: 'confirmed' once confirmed_at is set (open or closed); 'new' while open
--     without a qualifying run; 'dropped' when it closed without one. Islands that never
--     confirmed are kept so research can see the signals that did not last; labels and IC
--     use 'confirmed' events only, from entry_ts on.
--   * start_ts = first triggered sample of the island, end_ts = LAST TRIGGERED SAMPLE (not
--     the end of the cooldown), duration_sec = end_ts - start_ts, n_samples = triggered
--     samples in it.
--   * is_open: the island could still be extended: no later island, and the key's latest
--     sample is less than M after the off time began (or no off sample yet), and the key
--     was not silent for the whole look-back before p_now. Closed otherwise.
--   Worked patterns at 1-minute sampling, N = 2, M = 3 (T triggered, F not, . no sample;
--   minutes from 0):
--     TT          confirmed, start 0, confirmed_at 1
--     TFFFT       one island (gap 3 = M), no run of 2: dropped when closed; a live system
--                 never saw 2 consecutive triggered minutes
--     TFFTT       one island, start 0, end 4, confirmed_at 4 (the run 3-4 completes at 4)
--     TTFFFFT     two islands (gap 4 > M): 0-1 confirmed at 1, then 6 alone: dropped
--     TT.....TT   H = 10: the hole of 6 min is no split; the runs are 0-1 and 7-8 (a hole
--                 is "consecutive" when <= H): one island confirmed at 1
--     30 s: TTT confirmed at the 3rd sample (1 min); TT not. 5 min: TT confirmed at the 2nd.
--   * features_agg over the island's triggered samples: {column: {first, last, mean, min,
--     max}} for every numeric column of watch_signal_raw (read from the catalog, so new
--     columns are included) and {"meta.<key>": ...} for every numeric key of meta.factors,
--     plus pairs_top_first / pairs_top_last / funding_diff_top_first / funding_diff_top_last
--     (first / last non-null snapshots of meta.pairs_top and meta.funding_diff_top).
--     first / last are the earliest / latest non-null values.
-- Mechanics: each touched key is recomputed from the start of the earliest stored event it
-- could join (events ending within M + H before its earliest touched row) to the end of
-- its data, in one pass over its samples (lag/lead: the off time after a triggered sample
-- is decided by the sample that follows it) and a second pass over the triggered ones;
-- stored events of the key from there on are reconciled with the result by natural key
-- (exchange, symbol, signal_type, start_ts): unchanged rows are not touched, so re-running
-- any window changes nothing; ids survive extensions. An event whose entry changed (or that
-- is no longer confirmed) loses its labels; the label job writes them again.
-- Serialised by the job lock 'merge_events'. Reads compressed chunks like any other.
-- Steps (numbered as in the body; temp tables live to the end of the transaction, and each
-- step reads only the raw rows, the stored events and what the steps before it left):
--   1. keys       raw rows in [p_from, p_to) (ingested after p_since, when given) ->
--                 wl_merge_keys, one row per touched key (kid, min_ts, r_from = min_ts,
--                 any_trig), less the keys whose new rows cannot change any event.
--                 Sets keys and watermark.
--   2. reach      r_from moved back to the start of the earliest stored event the key's new
--                 rows could join (one ending within M + H before min_ts).
--   3. samples    each key's raw rows from r_from -> wl_merge_trig: its triggered samples
--                 with their values, run starts and off times, and its last sample (with the
--                 key's sample count). Sets samples.
--   4. islands    wl_merge_trig -> wl_merge_isl, one row per island (start, end, samples,
--                 confirmed_at, is_open); 4b. features: wl_merge_isl -> wl_merge_new, each
--                 island as an event row with its features_agg.
--   5. reconcile  the touched keys' stored events from r_from against wl_merge_new by
--                 natural key: absent ones deleted, changed ones updated, new ones inserted,
--                 labels of an event whose entry moved or that is no longer confirmed
--                 deleted. Sets deleted, inserted, updated.
--   6. close      open events no recompute can extend any more are closed ('new' ones
--                 become 'dropped'). Adds to updated; sets open_events.
-- Invariant: a row is written only when its values change, so re-running any window is a no-op.
CREATE OR REPLACE FUNCTION watchlist.merge_events(
    p_from  timestamptz,
    p_to    timestamptz DEFAULT 'infinity',
    p_now   timestamptz DEFAULT now(),
    p_since timestamptz DEFAULT NULL)
RETURNS TABLE (keys integer, samples bigint, inserted integer, updated integer, deleted integer,
               open_events integer, watermark timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET work_mem = '64MB'
SET jit = off
AS $$
DECLARE
    v_run_span interval := make_interval(mins => greatest(watchlist_data.setting('event_min_minutes')::int - 1, 0));
    v_cooldown interval := make_interval(mins => watchlist_data.setting('event_cooldown_minutes')::int);
    v_max_gap  interval := watchlist_data.setting('event_max_sample_gap')::interval;
    v_lookback interval := watchlist_data.setting('event_lookback')::interval;
    v_min_from timestamptz;
    v_inner    text;   -- numeric columns of the raw table
    v_outer    text;   -- ... carried (as float8) for the triggered samples
    v_stats    text;   -- their features_agg expression
    v_stale    integer;
    v_seqscan  text := current_setting('enable_seqscan');
    v_nestloop text := current_setting('enable_nestloop');
    v_bulk     text;   -- ... as in v_inner, NULL for untriggered samples (the rebuild's one pass)
    v_cols     text;
    v_win      text;
    v_sort     text := current_setting('enable_sort');
    v_rpc      text := current_setting('random_page_cost');
    v_fkeys    text[];      -- the meta.factors keys of the triggered samples (step 4b)
    v_fcols    text := '';  -- ... as columns of the samples (fk1, fk2, ...)
    v_fstats   text := '';  -- ... their features_agg expression
    v_fac_rows boolean;     -- ... more than 64 of them: as rows instead (fac)
    -- one value's statistics in features_agg: format(v_stat, name in features_agg, column of t)
    v_stat     text := '%1$L, CASE WHEN count(t.%2$s) > 0 THEN jsonb_build_object('
                       '''first'', @extschema@.first(t.%2$s, t.ts) FILTER (WHERE t.%2$s IS NOT NULL), '
                       '''last'', @extschema@.last(t.%2$s, t.ts) FILTER (WHERE t.%2$s IS NOT NULL), '
                       '''mean'', avg(t.%2$s::numeric)::float8, ''min'', min(t.%2$s), ''max'', max(t.%2$s)) END';
    -- TimescaleDB's first()/last() aggregates live in the extension's schema (public on a
    -- default install, elsewhere on some engines)
    v_tsdb     text := (SELECT quote_ident(n.nspname) FROM pg_extension AS x JOIN pg_namespace AS n ON n.oid = x.extnamespace
                         WHERE x.extname = 'timescaledb');
BEGIN
    PERFORM watchlist_data.take_job_lock('merge_events');

    DROP TABLE IF EXISTS pg_temp.wl_merge_keys, pg_temp.wl_merge_trig, pg_temp.wl_merge_isl, pg_temp.wl_merge_new;

    -- 1. Touched keys and the earliest touched sample of each. Dynamic SQL: always planned
    --    for the actual window and watermark (the index on ingested_at, 0170, finds what
    --    arrived since p_since without reading the look-back). Hashed, not sorted: the
    --    planner, misled by a new chunk's statistics, expects a few rows and sorts
    --    thousands by three text columns. Each key gets a
    --    number (kid) that the temp tables below join and partition on instead of its text.
    --    random_page_cost 1.1 (the new rows' pages are in memory): at the default (4) the
    --    planner can AND in the ts btree over the whole look-back to save a few heap pages
    --    (seen with 0041's BRIN on a kept 7 x 800 soak database: 2 M entries, 70-120 ms of a
    --    138 ms step; it grows with the keys).
    PERFORM set_config('enable_sort', 'off', true);
    PERFORM set_config('random_page_cost', '1.1', true);
    EXECUTE format($q$
        CREATE TEMP TABLE wl_merge_keys ON COMMIT DROP AS
        SELECT (row_number() OVER ())::integer AS kid, r.exchange, r.symbol, r.signal_type, min(r.ts) AS min_ts,
               max(r.ingested_at) AS max_ingested, min(r.ts) AS r_from, bool_or(r.triggered) AS any_trig
          FROM watchlist_data.watch_signal_raw AS r
         WHERE r.ts >= $1 AND r.ts < $2 %s
         GROUP BY r.exchange, r.symbol, r.signal_type$q$, CASE WHEN p_since IS NOT NULL THEN 'AND r.ingested_at > $3' ELSE '' END)
    USING p_from, p_to, p_since;
    PERFORM set_config('enable_sort', v_sort, true);
    PERFORM set_config('random_page_cost', v_rpc, true);
    SELECT count(*)::integer, max(k.max_ingested) INTO keys, watermark FROM wl_merge_keys AS k;

    --    Then: keys whose new rows are all untriggered and that have no open event need no
    --    recompute when either
    --      * no event ends within M + H before their earliest new row: the pass from that
    --        row on would find no triggered sample (every stored triggered sample belongs
    --        to a stored event), so no event to write and none to delete; or
    --      * (incremental runs) the new rows all come after the key's stored rows: closed
    --        events stay as they are when untriggered samples are appended after them
    --        (an untriggered row arriving late, between stored ones, could split an island:
    --        those keys are recomputed).
    --    Most keys, most minutes: the rest of the merge reads only the keys that can change.
    --    The events that can matter (open, or ending within reach of the earliest new row)
    --    are read once through the end and open indexes; the stored rows after the earliest
    --    new row (s: each key's latest one ingested by the watermark) in one pass over the
    --    window, grouped by hashing; both hash-joined to the keys. Not a probe per key: on a
    --    day's young chunk, estimated at a row, the planner took the time index for the
    --    probe and read every key's recent rows once per key (3.5 s and 3.3 M buffers for
    --    4,100 keys in a 7 x 800 soak, against 20 ms for this pass). Planned for this
    --    run's bounds (dynamic SQL: constant bounds, no chunk outside them planned or locked).
    SELECT min(k.min_ts) INTO v_min_from FROM wl_merge_keys AS k;
    ANALYZE wl_merge_keys;  -- unanalysed, its joins below are planned as nested loops
    EXECUTE $q$
    DELETE FROM wl_merge_keys AS k
     WHERE NOT k.any_trig
       AND NOT EXISTS (
            SELECT 1
              FROM (SELECT e.exchange, e.symbol, e.signal_type, max(e.end_ts) AS last_end, bool_or(e.is_open) AS any_open
                      FROM watchlist_data.watch_signal_event AS e
                     WHERE e.is_open OR e.end_ts >= $1 - $2
                     GROUP BY 1, 2, 3) AS n
              LEFT JOIN (SELECT r.exchange, r.symbol, r.signal_type, max(r.ts) AS last_ts
                           FROM watchlist_data.watch_signal_raw AS r
                          WHERE $3::timestamptz IS NOT NULL AND r.ts >= $1 AND r.ingested_at <= $3
                          GROUP BY 1, 2, 3) AS s
                ON s.exchange = n.exchange AND s.symbol = n.symbol AND s.signal_type = n.signal_type
             WHERE n.exchange = k.exchange AND n.symbol = k.symbol AND n.signal_type = k.signal_type
               AND (n.any_open
                    OR (n.last_end >= k.min_ts - $2
                        AND ($3::timestamptz IS NULL OR s.last_ts > k.min_ts))))$q$
    USING v_min_from, v_cooldown + v_max_gap, p_since;
    ANALYZE wl_merge_keys;

    -- 2. Recompute from the start of the earliest event each key's new rows could join
    --    (one set-based pass over the events that end within reach of the earliest new row).
    SELECT min(k.min_ts) INTO v_min_from FROM wl_merge_keys AS k;
    UPDATE wl_merge_keys AS k
       SET r_from = least(k.min_ts, x.first_start)
      FROM (SELECT e.exchange, e.symbol, e.signal_type, min(e.start_ts) AS first_start
              FROM wl_merge_keys AS k2
              JOIN watchlist_data.watch_signal_event AS e
                ON e.exchange = k2.exchange AND e.symbol = k2.symbol AND e.signal_type = k2.signal_type
               AND e.end_ts >= k2.min_ts - (v_cooldown + v_max_gap)
             WHERE e.end_ts >= v_min_from - (v_cooldown + v_max_gap)
             GROUP BY 1, 2, 3) AS x
     WHERE x.exchange = k.exchange AND x.symbol = k.symbol AND x.signal_type = k.signal_type
       AND x.first_start < k.min_ts;
    SELECT min(k.r_from) INTO v_min_from FROM wl_merge_keys AS k;
    ANALYZE wl_merge_keys;

    -- 3. One ordered pass over each key's samples (a lateral subquery per key: its rows come
    --    off the (exchange, symbol, ts) index in order, so no sort of the whole window; a
    --    rebuild of many keys reads the window once instead, see below):
    --    run starts (from the previous sample), the off time after each triggered sample
    --    (from the next one); keep the triggered samples, with their values, and the key's
    --    last sample (with the key's sample count).
    --    jsonb_build_object takes at most 100 arguments: 40 columns per call, concatenated.
    SELECT string_agg(g.inner_cols, ', ' ORDER BY g.grp), string_agg(g.bulk_cols, ', ' ORDER BY g.grp),
           string_agg(g.outer_cols, ', ' ORDER BY g.grp),
           string_agg('jsonb_build_object(' || g.stats || ')', ' || ' ORDER BY g.grp)
      INTO v_inner, v_bulk, v_outer, v_stats
      FROM (SELECT c.grp,
                   string_agg(format('r.%I', c.attname), ', ' ORDER BY c.attnum) AS inner_cols,
                   string_agg(format('CASE WHEN r.triggered THEN r.%1$I END AS %1$I', c.attname), ', ' ORDER BY c.attnum) AS bulk_cols,
                   string_agg(format('w.%1$I::float8 AS %1$I', c.attname), ', ' ORDER BY c.attnum) AS outer_cols,
                   string_agg(format(v_stat, c.attname, quote_ident(c.attname)), ', ' ORDER BY c.attnum) AS stats
              FROM (SELECT a.attname, a.attnum, (row_number() OVER (ORDER BY a.attnum) - 1) / 40 AS grp
                      FROM pg_attribute AS a
                     WHERE a.attrelid = 'watchlist_data.watch_signal_raw'::regclass AND a.attnum > 0 AND NOT a.attisdropped
                       AND a.atttypid IN ('float8'::regtype, 'float4'::regtype, 'int2'::regtype, 'int4'::regtype,
                                          'int8'::regtype, 'numeric'::regtype)) AS c
             GROUP BY c.grp) AS g;

    --    The pass's window columns over a key's samples, and the samples kept of each key: its
    --    triggered ones and its last (one list each for both ways of reading below).
    v_win := 'lag(r.ts) OVER w AS prev_ts, lag(r.triggered) OVER w AS prev_trig, '
             'lead(r.ts) OVER w AS next_ts, lead(r.triggered) OVER w AS next_trig, row_number() OVER w AS key_n';
    v_cols := format($q$w.ts, w.triggered, w.prev_ts, w.next_ts, w.key_n,
                   w.triggered AND (w.prev_ts IS NULL OR NOT w.prev_trig OR w.ts - w.prev_ts > $2) AS run_start,
                   CASE WHEN w.next_ts - w.ts > $2 THEN w.ts WHEN NOT w.next_trig THEN w.next_ts END AS off_after,
                   CASE WHEN w.triggered THEN w.meta -> 'pairs_top' END AS pairs_top,
                   CASE WHEN w.triggered THEN w.meta -> 'funding_diff_top' END AS funding_diff_top,
                   CASE WHEN w.triggered AND jsonb_typeof(w.meta -> 'factors') = 'object' THEN w.meta -> 'factors' END AS factors,
                   %s$q$, v_outer);
    IF p_since IS NULL AND (SELECT count(*) FROM wl_merge_keys) >= watchlist_data.setting('merge_bulk_min_keys')::integer THEN
        -- A rebuild of many keys (0071): one pass over the window's rows, hash-joined to the
        -- keys and sorted by key and time; the values and meta of untriggered samples are not
        -- used below, so they are not carried through the sort. No nested loop: one index
        -- scan per key would read every heap page of the window once per row on it.
        PERFORM set_config('enable_nestloop', 'off', true);
        EXECUTE format($q$
            CREATE TEMP TABLE wl_merge_trig ON COMMIT DROP AS
            SELECT w.kid, %s
              FROM (SELECT k.kid, r.ts, r.triggered, CASE WHEN r.triggered THEN r.meta END AS meta, %s, %s
                      FROM wl_merge_keys AS k
                      JOIN watchlist_data.watch_signal_raw AS r
                        ON r.exchange = k.exchange AND r.symbol = k.symbol AND r.signal_type = k.signal_type
                       AND r.ts >= k.r_from
                     WHERE r.ts >= $1
                    WINDOW w AS (PARTITION BY k.kid ORDER BY r.ts)) AS w
             WHERE w.triggered OR w.next_ts IS NULL$q$, v_cols, v_bulk, v_win)
        USING v_min_from, v_max_gap;
        PERFORM set_config('enable_nestloop', v_nestloop, true);
    ELSE
        -- The per-key scan must use the (exchange, symbol, ts) index: right after a bulk load,
        -- before autovacuum has analysed the new chunk, the planner can believe it tiny and
        -- read the whole chunk once per key, a cost that grows with keys x chunk size.
        PERFORM set_config('enable_seqscan', 'off', true);
        EXECUTE format($q$
            CREATE TEMP TABLE wl_merge_trig ON COMMIT DROP AS
            SELECT k.kid, x.*
              FROM wl_merge_keys AS k
             CROSS JOIN LATERAL (
                SELECT %s
                  FROM (SELECT r.ts, r.triggered, r.meta, %s, %s
                          FROM watchlist_data.watch_signal_raw AS r
                         WHERE r.exchange = k.exchange AND r.symbol = k.symbol AND r.signal_type = k.signal_type
                           AND r.ts >= k.r_from AND r.ts >= $1
                        WINDOW w AS (ORDER BY r.ts)) AS w
                 WHERE w.triggered OR w.next_ts IS NULL) AS x$q$, v_cols, v_inner, v_win)
        USING v_min_from, v_max_gap;
        PERFORM set_config('enable_seqscan', v_seqscan, true);
    END IF;
    SELECT coalesce(sum(t.key_n) FILTER (WHERE t.next_ts IS NULL), 0) INTO samples FROM wl_merge_trig AS t;

    -- 4. Islands, runs and confirmation over the triggered samples, on narrow rows.
    --    isl: a new island when the off time before a sample exceeds M.
    --    Statistics on the columns the joins and filters below use only: the values and
    --    the jsonb snapshots carried for the features have none to give, and sampling
    --    them made ANALYZE a fifth of the job (100 ms against 6 for these three).
    ANALYZE wl_merge_trig (kid, ts, triggered);
    EXECUTE replace($q$
        CREATE TEMP TABLE wl_merge_isl ON COMMIT DROP AS
        WITH kl AS (
            SELECT t.kid, max(t.ts) AS key_last_ts
              FROM wl_merge_trig AS t GROUP BY 1
        ), p AS (
            SELECT t.kid, t.ts, t.off_after,
                   lag(t.ts) OVER w AS prev_trig_ts, lag(t.off_after) OVER w AS prev_off,
                   max(CASE WHEN t.run_start THEN t.ts END) OVER (w ROWS UNBOUNDED PRECEDING) AS run_start_ts
              FROM wl_merge_trig AS t
             WHERE t.triggered
            WINDOW w AS (PARTITION BY t.kid ORDER BY t.ts)
        ), t AS (
            SELECT p.*,
                   sum(CASE WHEN p.prev_trig_ts IS NULL OR p.ts - p.prev_off > $2 THEN 1 ELSE 0 END)
                       OVER (PARTITION BY p.kid ORDER BY p.ts) AS isl
              FROM p
        ), ev AS (
            SELECT t.kid, t.isl,
                   min(t.ts) AS start_ts, max(t.ts) AS end_ts, count(*)::integer AS n_samples,
                   min(t.ts) FILTER (WHERE t.ts - t.run_start_ts >= $1) AS confirmed_at,
                   @extschema@.last(t.off_after, t.ts) AS off_after
              FROM t
             GROUP BY 1, 2
        )
        SELECT ev.kid, k.exchange, k.symbol, k.signal_type, ev.isl, ev.start_ts, ev.end_ts, ev.n_samples, ev.confirmed_at,
               NOT (ev.isl < max(ev.isl) OVER (PARTITION BY ev.kid)
                    OR coalesce(kl.key_last_ts - ev.off_after >= $2, false)
                    OR $3 - kl.key_last_ts > $4) AS is_open
          FROM ev
          JOIN kl ON kl.kid = ev.kid
          JOIN wl_merge_keys AS k ON k.kid = ev.kid$q$,
        '@extschema@.last(', v_tsdb || '.last(')
    USING v_run_span, v_cooldown, p_now, v_lookback;
    ANALYZE wl_merge_isl;

    -- 4b. features_agg over each island's triggered samples (every triggered sample between an
    --    island's first and last belongs to it). The incremental job keeps the stored
    --    features of an island whose first, last and count are unchanged: raw rows are never
    --    updated, so it has the same samples. A call without p_since (a rebuild of a window)
    --    recomputes them all. Means are summed in numeric: the same value whatever order
    --    the samples arrive in (a float sum is not), so re-running a window rewrites nothing.
    --    The numeric meta.factors keys: when the samples carry at most 64 distinct keys, each
    --    key is a column of the samples (fk1, fk2, ...) aggregated with the table's columns,
    --    one aggregate row per island; with more, one row per sample and key, grouped by
    --    island and key (fac below), whose width does not grow with the keys of other
    --    islands. The same statistics either way (docs/capacity.md has what each costs).
    SELECT array_agg(DISTINCT j.key) INTO v_fkeys
      FROM wl_merge_trig AS t
     CROSS JOIN LATERAL jsonb_object_keys(t.factors) AS j(key)
     WHERE t.factors IS NOT NULL;
    v_fac_rows := coalesce(cardinality(v_fkeys), 0) > 64;
    IF NOT v_fac_rows THEN
        SELECT string_agg(format(', watchlist_data.jsonb_float8(x.factors -> %L) AS fk%s', u.key, u.n), '' ORDER BY u.n)
          INTO v_fcols
          FROM unnest(v_fkeys) WITH ORDINALITY AS u(key, n);
        SELECT string_agg(' || jsonb_build_object(' || g.stats || ')', '' ORDER BY g.grp)
          INTO v_fstats
          FROM (SELECT (u.n - 1) / 40 AS grp,
                       string_agg(format(v_stat, 'meta.' || u.key, 'fk' || u.n), ', ' ORDER BY u.n) AS stats
                  FROM unnest(v_fkeys) WITH ORDINALITY AS u(key, n)
                 GROUP BY 1) AS g;
    END IF;
    EXECUTE replace(replace(format($q$
        CREATE TEMP TABLE wl_merge_new ON COMMIT DROP AS
        WITH kept AS (
            SELECT i.kid, i.isl, e.features_agg
              FROM wl_merge_isl AS i
              JOIN watchlist_data.watch_signal_event AS e
                ON e.exchange = i.exchange AND e.symbol = i.symbol AND e.signal_type = i.signal_type
               AND e.start_ts = i.start_ts AND e.end_ts = i.end_ts AND e.n_samples = i.n_samples
             WHERE $1
        ), todo AS (
            SELECT i.* FROM wl_merge_isl AS i
             WHERE NOT EXISTS (SELECT 1 FROM kept WHERE kept.kid = i.kid AND kept.isl = i.isl)
        ), t AS (
            SELECT c.isl, x.* %s
              FROM todo AS c
              JOIN wl_merge_trig AS x
                ON x.kid = c.kid AND x.ts >= c.start_ts AND x.ts <= c.end_ts AND x.triggered
        ), ev AS (
            SELECT t.kid, t.isl,
                   jsonb_strip_nulls(jsonb_build_object(
                       'pairs_top_first', @extschema@.first(t.pairs_top, t.ts) FILTER (WHERE t.pairs_top IS NOT NULL),
                       'pairs_top_last', @extschema@.last(t.pairs_top, t.ts) FILTER (WHERE t.pairs_top IS NOT NULL),
                       'funding_diff_top_first', @extschema@.first(t.funding_diff_top, t.ts) FILTER (WHERE t.funding_diff_top IS NOT NULL),
                       'funding_diff_top_last', @extschema@.last(t.funding_diff_top, t.ts) FILTER (WHERE t.funding_diff_top IS NOT NULL))
                       || %s%s) AS features_agg,
                   bool_or(t.factors IS NOT NULL) AS has_factors
              FROM t
             GROUP BY 1, 2
        ), fac AS (
            -- numeric keys of meta.factors as rows ($2: more than 64 keys), only for islands that have any
            SELECT x.kid, x.isl, jsonb_object_agg(x.name, x.stats) AS agg
              FROM (SELECT t.kid, t.isl, 'meta.' || f.key AS name,
                           jsonb_build_object('first', @extschema@.first(f.val, t.ts), 'last', @extschema@.last(f.val, t.ts),
                                              'mean', avg(f.val::numeric)::float8, 'min', min(f.val), 'max', max(f.val)) AS stats
                      FROM t
                     CROSS JOIN LATERAL (SELECT j.key, watchlist_data.jsonb_float8(j.value) AS val
                                           FROM jsonb_each(t.factors) AS j
                                          WHERE watchlist_data.jsonb_float8(j.value) IS NOT NULL) AS f
                     WHERE t.factors IS NOT NULL AND $2
                     GROUP BY 1, 2, 3) AS x
             GROUP BY 1, 2
        ), feat AS (
            SELECT ev.kid, ev.isl, ev.features_agg || coalesce(fac.agg, '{}'::jsonb) AS features_agg
              FROM ev
              LEFT JOIN fac ON ev.has_factors AND fac.kid = ev.kid AND fac.isl = ev.isl
            UNION ALL
            SELECT kept.kid, kept.isl, kept.features_agg FROM kept
        )
        SELECT i.exchange, i.symbol, i.signal_type, i.start_ts, i.end_ts,
               extract(epoch FROM i.end_ts - i.start_ts)::integer AS duration_sec,
               i.n_samples, i.confirmed_at, f.features_agg, i.is_open
          FROM wl_merge_isl AS i
          JOIN feat AS f ON f.kid = i.kid AND f.isl = i.isl$q$,
        v_fcols, v_stats, v_fstats), '@extschema@.first(', v_tsdb || '.first('), '@extschema@.last(', v_tsdb || '.last(')
    USING p_since IS NOT NULL, v_fac_rows;

    -- 5. Reconcile with the stored events of the touched keys.
    ANALYZE wl_merge_new;
    WITH gone AS (
        DELETE FROM watchlist_data.watch_signal_event AS e
         USING wl_merge_keys AS k
         WHERE e.exchange = k.exchange AND e.symbol = k.symbol AND e.signal_type = k.signal_type
           AND e.start_ts >= k.r_from
           AND NOT EXISTS (SELECT 1 FROM wl_merge_new AS n
                            WHERE n.exchange = e.exchange AND n.symbol = e.symbol
                              AND n.signal_type = e.signal_type AND n.start_ts = e.start_ts)
        RETURNING 1
    )
    SELECT count(*)::integer INTO deleted FROM gone;

    --    Only rows that differ from the stored ones reach the INSERT: ON CONFLICT DO UPDATE
    --    locks the conflicting row even when its WHERE then skips it, and a lock writes the
    --    row's header (a dirtied page and a WAL record for each open event, every minute).
    WITH cand AS (
        SELECT n.exchange, n.symbol, n.signal_type, n.start_ts, n.end_ts, n.duration_sec, n.n_samples, n.features_agg,
               format('%s triggered sample(s) over %s s; %s; N = %s min, M = %s', n.n_samples, n.duration_sec,
                      CASE WHEN n.confirmed_at IS NULL THEN 'no run of N consecutive minutes'
                           ELSE format('N consecutive minutes reached at +%s s', extract(epoch FROM n.confirmed_at - n.start_ts)::integer) END,
                      (extract(epoch FROM v_run_span) / 60)::integer + 1, v_cooldown) AS reason,
               CASE WHEN n.confirmed_at IS NOT NULL THEN 'confirmed' WHEN n.is_open THEN 'new' ELSE 'dropped' END AS status,
               n.is_open, n.confirmed_at
          FROM wl_merge_new AS n
    ), up AS (
        INSERT INTO watchlist_data.watch_signal_event AS e
               (exchange, symbol, signal_type, start_ts, end_ts, duration_sec, n_samples, features_agg, reason, status,
                is_open, confirmed_at)
        SELECT c.exchange, c.symbol, c.signal_type, c.start_ts, c.end_ts, c.duration_sec, c.n_samples, c.features_agg,
               c.reason, c.status, c.is_open, c.confirmed_at
          FROM cand AS c
         WHERE NOT EXISTS (
                SELECT 1 FROM watchlist_data.watch_signal_event AS s
                 WHERE s.exchange = c.exchange AND s.symbol = c.symbol AND s.signal_type = c.signal_type
                   AND s.start_ts = c.start_ts
                   AND (s.end_ts, s.n_samples, s.features_agg, s.reason, s.status, s.is_open, s.confirmed_at)
                       IS NOT DISTINCT FROM (c.end_ts, c.n_samples, c.features_agg, c.reason, c.status, c.is_open, c.confirmed_at))
        ON CONFLICT (exchange, symbol, signal_type, start_ts) DO UPDATE
           SET end_ts = EXCLUDED.end_ts, duration_sec = EXCLUDED.duration_sec, n_samples = EXCLUDED.n_samples,
               features_agg = EXCLUDED.features_agg, reason = EXCLUDED.reason, status = EXCLUDED.status,
               is_open = EXCLUDED.is_open, confirmed_at = EXCLUDED.confirmed_at, updated_at = now()
         WHERE (e.end_ts, e.n_samples, e.features_agg, e.reason, e.status, e.is_open, e.confirmed_at)
               IS DISTINCT FROM (EXCLUDED.end_ts, EXCLUDED.n_samples, EXCLUDED.features_agg, EXCLUDED.reason,
                                 EXCLUDED.status, EXCLUDED.is_open, EXCLUDED.confirmed_at)
        RETURNING e.id, (xmax = 0) AS is_insert, e.entry_ts, e.status
    ), stale AS (
        -- labels of an event whose entry moved, or that is no longer confirmed, are stale:
        -- removed here, written again by the label job (it reads events updated since its
        -- previous run)
        DELETE FROM watchlist_data.future_outcome AS o
         USING up
         WHERE NOT up.is_insert AND o.event_id = up.id
           AND (up.status <> 'confirmed' OR o.entry_ts IS DISTINCT FROM up.entry_ts)
        RETURNING 1
    )
    SELECT (SELECT count(*) FILTER (WHERE is_insert)::integer FROM up),
           (SELECT count(*) FILTER (WHERE NOT is_insert)::integer FROM up),
           (SELECT count(*)::integer FROM stale)
      INTO inserted, updated, v_stale;

    -- 6. Open events that can no longer be extended: of keys silent for the whole look-back,
    --    and of touched keys whose new rows came more than M + H after the event's end (the
    --    recompute does not reach it; its off time began at most H after its end, so the
    --    key's latest sample is more than M after it, or a later island follows).
    WITH closed AS (
        UPDATE watchlist_data.watch_signal_event AS e
           SET is_open = false, status = CASE WHEN e.status = 'new' THEN 'dropped' ELSE e.status END, updated_at = now()
          FROM (SELECT o.id
                  FROM watchlist_data.watch_signal_event AS o
                  LEFT JOIN wl_merge_keys AS k
                    ON k.exchange = o.exchange AND k.symbol = o.symbol AND k.signal_type = o.signal_type
                 WHERE o.is_open
                   AND CASE WHEN k.exchange IS NOT NULL THEN o.start_ts < k.r_from
                            ELSE o.end_ts < p_now - v_lookback END) AS x
         WHERE e.id = x.id
        RETURNING 1
    )
    SELECT updated + count(*)::integer INTO updated FROM closed;

    SELECT count(*)::integer INTO open_events FROM watchlist_data.watch_signal_event AS e WHERE e.is_open;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION watchlist.merge_events(timestamptz, timestamptz, timestamptz, timestamptz) FROM PUBLIC;
