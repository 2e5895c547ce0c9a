-- 0100: the factor lab's selection control and eligibility rules.
-- watchlist_data.factor_trial records every test watchlist.factor_leaderboard reports (one
-- row per factor x horizon x metric of a run, with the window and settings it was run on),
-- so the deflated threshold of a later run knows how many trials the database has seen on
-- an overlapping window: a factor found after 500 tries is not the same finding as one
-- found on the first try. Private: written only by the leaderboard (SECURITY DEFINER).
CREATE TABLE watchlist_data.factor_trial (
    run_id         bigint           NOT NULL,
    recorded_at    timestamptz      NOT NULL DEFAULT now(),
    window_from    timestamptz      NOT NULL,
    window_to      timestamptz      NOT NULL,
    metric         text             NOT NULL,
    period         interval         NOT NULL,
    min_events     integer          NOT NULL,
    signal_type    text,
    exchange       text,
    factor_filter  text,
    factor         text             NOT NULL,
    horizon_min    integer          NOT NULL,
    test           text             NOT NULL CHECK (test IN ('rank_ic_hac', 'kruskal_wallis')),
    n_periods      integer          NOT NULL,
    eff_events     double precision,
    stat           double precision,
    p_value        double precision,
    q_value        double precision,
    eligible       boolean          NOT NULL,
    PRIMARY KEY (run_id, factor, horizon_min)
);
CREATE INDEX factor_trial_window_idx ON watchlist_data.factor_trial (window_from, window_to);
CREATE SEQUENCE watchlist_data.factor_trial_run_seq;
COMMENT ON TABLE watchlist_data.factor_trial IS
    'Every test the factor leaderboard reported: factor x horizon x metric of a run, with its window and settings (selection control: the deflated threshold counts them)';

INSERT INTO watchlist_data.settings (key, value, kind, description) VALUES
    ('factor_lab_min_periods', '8', 'integer',
     'The factor leaderboard ranks a factor x horizon only with at least this many used periods (fewer are shown, never ranked)'),
    ('factor_lab_min_eff_events', '30', 'numeric',
     'The factor leaderboard ranks a factor x horizon only with at least this many effective events (events discounted for overlapping outcome windows of the same symbol)'),
    ('factor_lab_fdr', '0.05', 'numeric',
     'The factor leaderboard''s significance level: a row is a discovery when its Benjamini-Hochberg q-value is at most this; also the family-wise level of the Bonferroni threshold'),
    ('factor_lab_categorical', 'db.hour_of_day,db.session', 'text',
     'Comma-separated factors that are categories, not magnitudes: the leaderboard tests them with Kruskal-Wallis across categories instead of an IC')
ON CONFLICT (key) DO NOTHING;
