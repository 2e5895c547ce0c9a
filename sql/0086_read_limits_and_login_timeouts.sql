-- 0086: bounds on what one reader call and one login session may cost.
-- read_max_span: the research and window reads (event_study, factor_ic, factor_ic_by_period,
-- export_frame, outcome_excess, event_factors, window_stats) refuse a [from, to) window
-- longer than this at entry (event_study over 10 years took 5.6 s for 130 events).
-- The login timeouts are applied per login by `wldb grant-login` (ALTER ROLE <login> IN
-- DATABASE ... SET ...): a setting on the group roles wl_reader / wl_writer would apply
-- only to sessions whose session user is the group role itself, never to its member logins.
-- `wldb status` warns about member logins without them (watchlist.login_problems()).
INSERT INTO watchlist_data.settings (key, value, kind, description) VALUES
    ('read_max_span', '90 days', 'interval',
     'Longest [from, to) window one call of the research and window reads accepts (event_study, factor_ic, factor_ic_by_period, export_frame, outcome_excess, event_factors, window_stats)'),
    ('reader_statement_timeout', '60 seconds', 'interval',
     'statement_timeout `wldb grant-login --reader` sets for a reader login in this database'),
    ('reader_idle_in_transaction_timeout', '60 seconds', 'interval',
     'idle_in_transaction_session_timeout `wldb grant-login --reader` sets for a reader login (an idle reader transaction holds back compression and retention)'),
    ('reader_lock_timeout', '10 seconds', 'interval',
     'lock_timeout `wldb grant-login --reader` sets for a reader login'),
    ('writer_statement_timeout', '10 minutes', 'interval',
     'statement_timeout `wldb grant-login --writer` sets for a writer login in this database'),
    ('writer_idle_in_transaction_timeout', '5 minutes', 'interval',
     'idle_in_transaction_session_timeout `wldb grant-login --writer` sets for a writer login'),
    ('writer_lock_timeout', '2 minutes', 'interval',
     'lock_timeout `wldb grant-login --writer` sets for a writer login')
ON CONFLICT (key) DO NOTHING;
