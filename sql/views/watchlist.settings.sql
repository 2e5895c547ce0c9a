-- watchlist.settings: every tunable with its value, kind and meaning (change with
-- watchlist.set_setting, as the owner).
CREATE OR REPLACE VIEW watchlist.settings AS
SELECT key, value, kind, description, updated_at FROM watchlist_data.settings;
REVOKE ALL ON watchlist.settings FROM PUBLIC;
GRANT SELECT ON watchlist.settings TO wl_reader;
