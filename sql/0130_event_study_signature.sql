-- 0130: watchlist.event_study gains a pre-event window, the pnl split (convergence, carry,
-- cost), carried-minute and cluster counts and two parameters (cluster period, minimum
-- history for the breakpoints). Its return columns and arguments change, which CREATE OR
-- REPLACE cannot do: the old signature is dropped here, and the repeatable file
-- sql/functions/watchlist.event_study.sql (applied after every numbered migration)
-- creates the new one with its grant.
DROP FUNCTION IF EXISTS watchlist.event_study(timestamptz, timestamptz, text, integer, boolean, text, text);
