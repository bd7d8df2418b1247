CREATE OR REPLACE VIEW `p.views.active_users` AS
SELECT u.* FROM `p.app.users` u
WHERE u.id IN (SELECT user_id FROM `p.app.sessions`)
