SELECT event_name
FROM `p.analytics_123.events_*`
WHERE _TABLE_SUFFIX BETWEEN '20240101' AND '20240131'
UNION ALL
SELECT event_name FROM `p.analytics_123.events_intraday_*`
