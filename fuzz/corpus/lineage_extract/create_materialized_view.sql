CREATE MATERIALIZED VIEW `p.mv.daily_totals`
PARTITION BY day
OPTIONS (enable_refresh = true, refresh_interval_minutes = 60)
AS SELECT DATE(ts) AS day, SUM(x) AS total FROM `p.raw.facts` GROUP BY 1
