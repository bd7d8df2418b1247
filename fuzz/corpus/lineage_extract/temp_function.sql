CREATE TEMP FUNCTION threshold() AS ((SELECT MAX(limit_value) FROM ds.limits));
CREATE TEMP FUNCTION add_one(x INT64) AS (x + 1);
CREATE OR REPLACE TABLE ds.flagged AS
SELECT id, add_one(n) AS n FROM ds.measurements WHERE n > threshold()
