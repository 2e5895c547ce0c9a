-- watchlist_data.kruskal_wallis(groups, y): do the outcomes y differ across the categories
-- groups (pairs with a NULL dropped)? Kruskal-Wallis H on the ranks of y (ties averaged)
-- with the tie correction, df = categories - 1, p = chi-square upper tail (as
-- scipy.stats.kruskal). Assumes independent observations; the factor leaderboard discounts
-- H for overlapping outcomes (see watchlist.factor_leaderboard). Fewer than 2 categories or
-- all y tied gives NULL h and p.
CREATE OR REPLACE FUNCTION watchlist_data.kruskal_wallis(p_groups double precision[], p_y double precision[])
RETURNS TABLE (n integer, k integer, h double precision, df integer, p_value double precision)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c double precision;
BEGIN
    WITH d AS (
        SELECT u.g, u.y FROM unnest(p_groups, p_y) AS u(g, y) WHERE u.g IS NOT NULL AND u.y IS NOT NULL
    ), rk AS (
        SELECT d.g, rank() OVER (ORDER BY d.y) + (count(*) OVER (PARTITION BY d.y) - 1) / 2.0 AS r FROM d
    ), grp AS (
        SELECT rk.g, count(*) AS ng, sum(rk.r)::float8 AS rs FROM rk GROUP BY rk.g
    ), ties AS (
        SELECT sum(power(t.c, 3) - t.c)::float8 AS tt FROM (SELECT count(*)::float8 AS c FROM d GROUP BY d.y) AS t
    )
    SELECT (SELECT count(*) FROM d)::integer, (SELECT count(*) FROM grp)::integer,
           (SELECT sum(grp.rs * grp.rs / grp.ng) FROM grp), (SELECT ties.tt FROM ties)
      INTO n, k, h, c;
    df := k - 1;
    IF k < 2 OR n < 2 THEN
        h := NULL; p_value := NULL; RETURN NEXT; RETURN;
    END IF;
    c := 1 - c / (power(n, 3) - n);
    IF c <= 0 THEN
        h := NULL; p_value := NULL; RETURN NEXT; RETURN;
    END IF;
    h := (12.0 / (n * (n + 1.0)) * h - 3 * (n + 1.0)) / c;
    p_value := watchlist_data.gamma_inc(df / 2.0, greatest(h, 0) / 2, true);
    RETURN NEXT;
END
$$;
