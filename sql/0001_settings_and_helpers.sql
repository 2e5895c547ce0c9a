-- 0001: settings in one place, shared helpers, default privileges.
-- Runs as wl_owner (the migrator does SET ROLE wl_owner for every migration).

-- Nothing created by wl_owner in these schemas is executable by PUBLIC; each API
-- function grants EXECUTE to the role that needs it, in its own file.
-- (Per-schema default privileges can only add to the global ones, so the revoke is global
-- for objects wl_owner creates; wl_owner creates nothing outside watchlist-db.)
ALTER DEFAULT PRIVILEGES FOR ROLE wl_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
REVOKE ALL ON SCHEMA watchlist_data FROM PUBLIC;
REVOKE ALL ON SCHEMA watchlist FROM PUBLIC;
GRANT USAGE ON SCHEMA watchlist TO wl_writer, wl_reader;

-- True when every element is a finite number or NULL (no NaN, no +/-Infinity).
-- Used by the CHECK constraints of every table with measured values.
CREATE FUNCTION watchlist_data.all_finite(p_values double precision[])
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$
    SELECT NOT EXISTS (
        SELECT 1 FROM unnest(p_values) AS v
         WHERE v IS NOT NULL AND (v = 'NaN'::float8 OR v IN ('Infinity'::float8, '-Infinity'::float8))
    )
$$;

-- Every tunable of watchlist-db lives here: retention, compression age, refresh windows,
-- event merging rules, outcome horizons. Change with watchlist.set_setting(key, value),
-- which validates the value and re-applies the TimescaleDB policies; no migration needed.
CREATE TABLE watchlist_data.settings (
    key         text        NOT NULL PRIMARY KEY,
    value       text        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('interval', 'integer', 'integer[]', 'numeric', 'text')),
    description text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO watchlist_data.settings (key, value, kind, description) VALUES
    ('raw_chunk_interval',        '1 day',    'interval', 'Chunk width of the watch_signal_raw hypertable'),
    ('raw_retention',             '30 days',  'interval', 'Raw signal minutes older than this are dropped (whole chunks)'),
    ('raw_compress_after',        '2 days',   'interval', 'Raw chunks older than this are compressed (columnstore); must exceed the longest outcome horizon plus slack'),
    ('series_retention',          '7 days',   'interval', '5-minute series (continuous aggregate) kept this long'),
    ('typea_stats_retention',     '30 days',  'interval', 'Hourly Type A window statistics (continuous aggregate) kept this long'),
    ('series_refresh_start',      '2 days',   'interval', 'Refresh window start offset of the 5-minute series aggregate (must stay inside raw retention)'),
    ('series_refresh_end',        '5 minutes','interval', 'Refresh window end offset of the 5-minute series aggregate; newer buckets come from real-time aggregation'),
    ('series_refresh_every',      '5 minutes','interval', 'Schedule of the 5-minute series refresh'),
    ('typea_refresh_start',       '2 days',   'interval', 'Refresh window start offset of the hourly statistics (must stay inside series retention)'),
    ('typea_refresh_end',         '1 hour',   'interval', 'Refresh window end offset of the hourly statistics'),
    ('typea_refresh_every',       '30 minutes','interval','Schedule of the hourly statistics refresh'),
    ('history_retention',         '180 days', 'interval', 'Events, their outcome labels and recorded trades older than this are deleted'),
    ('quarantine_retention',      '30 days',  'interval', 'Rejected ingest rows kept this long for the operator to read'),
    ('event_min_minutes',         '2',        'integer',  'N: a run of triggered samples becomes an event once it has lasted N minutes'),
    ('event_cooldown_minutes',    '3',        'integer',  'M: triggered samples separated by at most M minutes belong to the same event'),
    ('event_lookback',            '6 hours',  'interval', 'How far back the incremental event merge looks for late rows (late data inside it is merged as if on time)'),
    ('event_max_sample_gap',      '10 minutes','interval','Two samples further apart than this are a hole in the data: a triggered run does not bridge it'),
    ('outcome_horizons_min',      '{30,60,180,360}', 'integer[]', 'Outcome label horizons in minutes'),
    ('outcome_cost_bps',          '8',        'numeric',  'Round-trip cost (fees + slippage) subtracted from labelled pnl, in basis points');
