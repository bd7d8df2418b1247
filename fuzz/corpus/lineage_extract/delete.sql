DELETE FROM ds.sessions WHERE user_id IN (SELECT id FROM ds.deleted_users);
DELETE ds.logs l WHERE l.ts < (SELECT MIN(ts) FROM ds.retention)
