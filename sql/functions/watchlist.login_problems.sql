-- watchlist.login_problems(): one row per login that is a member of wl_reader or wl_writer
-- (not a superuser, not wl_owner or a member of it) and lacks, in this database, one of the
-- session timeouts of watchlist.login_settings (unset, or 0 = off): the login, what it
-- lacks, and the command that sets them. A writer's are checked for a login in both
-- groups. `wldb status` shows them as warnings. SECURITY INVOKER: it reads only catalogs
-- (and the settings through watchlist.login_settings).
CREATE OR REPLACE FUNCTION watchlist.login_problems()
RETURNS TABLE (login text, problem text, fix text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    WITH logins AS (
        SELECT r.oid, r.rolname::text AS rolname,
               CASE WHEN pg_has_role(r.oid, 'wl_writer', 'MEMBER') THEN 'writer' ELSE 'reader' END AS kind
          FROM pg_roles AS r
         WHERE r.rolcanlogin AND NOT r.rolsuper
           AND NOT pg_has_role(r.oid, 'wl_owner', 'MEMBER')
           AND (pg_has_role(r.oid, 'wl_reader', 'MEMBER') OR pg_has_role(r.oid, 'wl_writer', 'MEMBER'))
    ), have AS (
        SELECT d.setrole, split_part(c.c, '=', 1) AS guc, substr(c.c, strpos(c.c, '=') + 1) AS val
          FROM pg_db_role_setting AS d CROSS JOIN LATERAL unnest(d.setconfig) AS c(c)
         WHERE d.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
    )
    SELECT l.rolname,
           format('%s login %s has no %s in database %s', l.kind, l.rolname,
                  string_agg(w.setting, ', ' ORDER BY w.setting), current_database()),
           format('wldb grant-login %s --%s', l.rolname, l.kind)
      FROM logins AS l
     CROSS JOIN LATERAL watchlist.login_settings(l.kind) AS w
     WHERE NOT EXISTS (SELECT FROM have AS h
                        WHERE h.setrole = l.oid AND h.guc = w.setting AND h.val NOT IN ('0', '0ms', '0s'))
     GROUP BY l.rolname, l.kind
     ORDER BY 1;
END
$$;
REVOKE ALL ON FUNCTION watchlist.login_problems() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION watchlist.login_problems() TO wl_reader;
