CREATE OR REPLACE TABLE `p.mart.revenue`
PARTITION BY day
CLUSTER BY country
OPTIONS (description = 'daily revenue')
AS
SELECT DATE(ts) AS day, country, SUM(amount) AS revenue
FROM `p.raw.payments`
GROUP BY 1, 2
