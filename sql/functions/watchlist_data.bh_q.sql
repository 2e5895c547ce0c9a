-- watchlist_data.bh_q(p): Benjamini-Hochberg q-values of the p-values p, in their order
-- (NULL stays NULL and is not a test): with the m non-NULL p sorted ascending and r their
-- rank, q = min over ranks >= r of p * m / rank, capped at 1. A row is a discovery at false
-- discovery rate alpha when q <= alpha (controls the FDR under independence and positive
-- dependence). Equals statsmodels multipletests(p, method='fdr_bh')[1].
CREATE OR REPLACE FUNCTION watchlist_data.bh_q(p_p double precision[])
RETURNS double precision[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH v AS (
        SELECT u.p, u.i FROM unnest(p_p) WITH ORDINALITY AS u(p, i)
    ), r AS (
        SELECT v.i, v.p * count(*) OVER () / row_number() OVER (ORDER BY v.p, v.i) AS raw,
               row_number() OVER (ORDER BY v.p, v.i) AS k
          FROM v WHERE v.p IS NOT NULL
    ), q AS (
        SELECT r.i, least(1, min(r.raw) OVER (ORDER BY r.k DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) AS q FROM r
    )
    SELECT array_agg(q.q ORDER BY v.i) FROM v LEFT JOIN q ON q.i = v.i
$$;
