WITH active AS (
  SELECT user_id FROM `proj.app.users` WHERE active
)
SELECT a.user_id, o.total
FROM active a
JOIN `proj.app.orders` o USING (user_id)
