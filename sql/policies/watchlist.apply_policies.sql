-- watchlist.apply_policies(): make the TimescaleDB policies and jobs match
-- watchlist_data.settings. Idempotent: a policy whose configuration already matches is
-- left alone ('unchanged'); one that differs is replaced; a missing one is added.
-- These replace the seed's partition script and cron:
--   raw hypertable       chunk interval, compression after raw_compress_after, retention raw_retention
--   5-minute series      refresh (series_refresh_*), retention series_retention
--   hourly Type A stats  refresh (typea_refresh_*), retention typea_stats_retention
--   history              job watchlist_data.job_prune_history, every prune_history_every (events, labels, trades, quarantine)
--   events               job watchlist_data.job_merge_events, every merge_events_every
--   outcome labels       job watchlist_data.job_label_outcomes, every label_outcomes_every
--   database factors     job watchlist_data.job_compute_factors, every compute_factors_every; factor_value
--                        compressed after factor_compress_after, dropped after factor_retention
-- Refuses to change anything while watchlist.policy_problems() reports a problem.
-- Called by `wldb migrate` after every run and by watchlist.set_setting(). Owner-only.
-- Steps (numbered as in the body; each returns one row per policy it looked at, with
-- action 'unchanged', 'changed', 'added' or 'replaced', and changes only what differs):
--   1. problems     raises, changing nothing, while watchlist.policy_problems() reports any.
--   2. chunks       the raw hypertable's chunk interval (chunks created from now on).
--   3. compression  compression and retention policies of the hypertables and aggregates.
--   4. refresh      the continuous aggregates' refresh policies.
--   5. jobs         the custom jobs, each on the schedule of its setting.
CREATE OR REPLACE FUNCTION watchlist.apply_policies()
RETURNS TABLE (policy text, target text, action text, detail text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c_compress_every CONSTANT interval := INTERVAL '12 hours';
    c_stagger        CONSTANT interval := INTERVAL '6 hours';
    v_start      timestamptz;
    v_comp_start timestamptz;
    v_origin     timestamptz;
    v_problems text;
    v_job      integer;
    v_config   jsonb;
    v_sched    interval;
    v_want     interval;
    v_want2    interval;
    v_want3    interval;
    r          record;
BEGIN
    -- 1. Settings that contradict each other: refuse before changing anything.
    SELECT string_agg(p.problem, '; ') INTO v_problems FROM watchlist.policy_problems() AS p;
    IF v_problems IS NOT NULL THEN
        RAISE EXCEPTION 'inconsistent watchlist-db settings: %', v_problems
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Fix them with watchlist.set_setting(key, value); nothing was changed.';
    END IF;

    -- 2. Raw chunk interval (applies to chunks created from now on).
    v_want := watchlist_data.setting('raw_chunk_interval')::interval;
    SELECT d.time_interval INTO v_want2 FROM timescaledb_information.dimensions AS d
     WHERE d.hypertable_schema = 'watchlist_data' AND d.hypertable_name = 'watch_signal_raw';
    policy := 'chunk_interval'; target := 'watchlist_data.watch_signal_raw';
    IF v_want2 IS DISTINCT FROM v_want THEN
        PERFORM @extschema@.set_chunk_time_interval('watchlist_data.watch_signal_raw', v_want);
        action := 'changed'; detail := format('%s -> %s', v_want2, v_want);
    ELSE
        action := 'unchanged'; detail := v_want::text;
    END IF;
    RETURN NEXT;

    -- 3. Compression and retention of hypertables and continuous aggregates.
    FOR r IN
        SELECT * FROM (VALUES
            ('compression', 'watch_signal_raw',     'policy_compression', 'compress_after', 'raw_compress_after'),
            ('retention',   'watch_signal_raw',     'policy_retention',   'drop_after',     'raw_retention'),
            ('retention',   'watchlist_series_agg', 'policy_retention',   'drop_after',     'series_retention'),
            ('retention',   'typea_stats_1h',       'policy_retention',   'drop_after',     'typea_stats_retention'),
            ('compression', 'factor_value',         'policy_compression', 'compress_after', 'factor_compress_after'),
            ('retention',   'factor_value',         'policy_retention',   'drop_after',     'factor_retention')
        ) AS t(kind, rel, proc, cfg_key, setting_key)
    LOOP
        v_want := watchlist_data.setting(r.setting_key)::interval;
        SELECT j.job_id, j.config, j.initial_start INTO v_job, v_config, v_start
          FROM timescaledb_information.jobs AS j
         WHERE j.proc_name = r.proc AND j.hypertable_schema = 'watchlist_data' AND j.hypertable_name = r.rel;
        -- Compression and retention of the same hypertable must not start together:
        -- TimescaleDB 2.28.3's two policies deadlock then ("deadlock detected"; the loser
        -- fails and waits for its retry). Both run on fixed schedules (initial_start):
        -- compression every 12 h from when it was added, retention daily at 6 h past one of
        -- compression's starts, so they never meet unless a compression run takes 6 hours.
        -- (The compression rows come first in the list above.)
        v_origin := now();
        IF r.kind = 'retention' THEN
            SELECT j.initial_start INTO v_comp_start FROM timescaledb_information.jobs AS j
             WHERE j.proc_name = 'policy_compression' AND j.hypertable_schema = 'watchlist_data' AND j.hypertable_name = r.rel;
            IF v_comp_start IS NOT NULL THEN
                v_origin := v_comp_start + c_stagger
                            + ceil(greatest(0, extract(epoch FROM now() - v_comp_start - c_stagger))
                                   / extract(epoch FROM c_compress_every)) * c_compress_every;
            END IF;
        END IF;
        policy := r.kind; target := 'watchlist_data.' || r.rel;
        -- a policy added before the fixed schedules, or a retention out of step with its
        -- compression (compression re-added), is replaced
        IF v_job IS NOT NULL AND (v_config ->> r.cfg_key)::interval = v_want AND v_start IS NOT NULL
           AND (r.kind = 'compression' OR v_comp_start IS NULL
                OR mod(extract(epoch FROM v_start - v_comp_start)::numeric, extract(epoch FROM c_compress_every)::numeric)
                   = extract(epoch FROM c_stagger)::numeric) THEN
            action := 'unchanged';
        ELSE
            IF v_job IS NOT NULL THEN
                IF r.kind = 'compression' THEN
                    PERFORM @extschema@.remove_compression_policy(('watchlist_data.' || r.rel)::regclass);
                ELSE
                    PERFORM @extschema@.remove_retention_policy(('watchlist_data.' || r.rel)::regclass);
                END IF;
                action := 'replaced';
            ELSE
                action := 'added';
            END IF;
            IF r.kind = 'compression' THEN
                PERFORM @extschema@.add_compression_policy(('watchlist_data.' || r.rel)::regclass, compress_after => v_want,
                                               schedule_interval => c_compress_every, initial_start => v_origin);
            ELSE
                PERFORM @extschema@.add_retention_policy(('watchlist_data.' || r.rel)::regclass, drop_after => v_want,
                                             initial_start => v_origin);
            END IF;
        END IF;
        detail := format('%s => %s', r.cfg_key, v_want);
        RETURN NEXT;
    END LOOP;

    -- 4. Refresh policies of the continuous aggregates.
    FOR r IN
        SELECT * FROM (VALUES
            ('watchlist_series_agg', 'series'),
            ('typea_stats_1h',       'typea')
        ) AS t(rel, prefix)
    LOOP
        v_want  := watchlist_data.setting(r.prefix || '_refresh_start')::interval;
        v_want2 := watchlist_data.setting(r.prefix || '_refresh_end')::interval;
        v_want3 := watchlist_data.setting(r.prefix || '_refresh_every')::interval;
        SELECT j.job_id, j.config, j.schedule_interval INTO v_job, v_config, v_sched FROM timescaledb_information.jobs AS j
         WHERE j.proc_name = 'policy_refresh_continuous_aggregate'
           AND j.hypertable_schema = 'watchlist_data' AND j.hypertable_name = r.rel;
        policy := 'refresh'; target := 'watchlist_data.' || r.rel;
        IF v_job IS NOT NULL AND (v_config ->> 'start_offset')::interval = v_want
           AND (v_config ->> 'end_offset')::interval = v_want2 AND v_sched = v_want3 THEN
            action := 'unchanged';
        ELSE
            IF v_job IS NOT NULL THEN
                PERFORM @extschema@.remove_continuous_aggregate_policy(('watchlist_data.' || r.rel)::regclass);
                action := 'replaced';
            ELSE
                action := 'added';
            END IF;
            PERFORM @extschema@.add_continuous_aggregate_policy(('watchlist_data.' || r.rel)::regclass,
                start_offset => v_want, end_offset => v_want2, schedule_interval => v_want3);
        END IF;
        detail := format('window [now-%s, now-%s], every %s', v_want, v_want2, v_want3);
        RETURN NEXT;
    END LOOP;

    -- 5. Custom jobs (procedures in sql/functions/, thin wrappers around SQL functions), each
    --    on the schedule of its setting.
    FOR r IN
        SELECT * FROM (VALUES
            ('job_prune_history',  'prune_history_every'),
            ('job_merge_events',   'merge_events_every'),
            ('job_label_outcomes', 'label_outcomes_every'),
            ('job_compute_factors', 'compute_factors_every')
        ) AS t(proc, setting_key)
    LOOP
        v_want := watchlist_data.setting(r.setting_key)::interval;
        SELECT j.job_id, j.schedule_interval INTO v_job, v_sched FROM timescaledb_information.jobs AS j
         WHERE j.proc_schema = 'watchlist_data' AND j.proc_name = r.proc;
        policy := 'job'; target := 'watchlist_data.' || r.proc;
        IF v_job IS NULL THEN
            PERFORM @extschema@.add_job(('watchlist_data.' || r.proc)::regproc, v_want);
            action := 'added';
        ELSIF v_sched <> v_want THEN
            PERFORM @extschema@.alter_job(v_job, schedule_interval => v_want);
            action := 'changed';
        ELSE
            action := 'unchanged';
        END IF;
        detail := format('every %s', v_want);
        RETURN NEXT;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION watchlist.apply_policies() FROM PUBLIC;
