SELECT
  id,
  (SELECT MAX(ts) FROM ds.logins l WHERE l.user_id = u.id) AS last_login,
  ARRAY(SELECT tag FROM ds.tags t WHERE t.user_id = u.id) AS tags
FROM ds.users u
