CREATE OR REPLACE VIEW `${project_id}.${dataset}.report` AS
SELECT * FROM `${project_id}.raw.events`
WHERE env = '${environment}'
