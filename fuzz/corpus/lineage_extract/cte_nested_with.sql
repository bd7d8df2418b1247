WITH outer_cte AS (
  WITH inner_cte AS (SELECT id FROM ds.raw_events)
  SELECT id FROM inner_cte
)
SELECT * FROM outer_cte
UNION ALL
SELECT * FROM (WITH c AS (SELECT id FROM ds.other) SELECT id FROM c)
