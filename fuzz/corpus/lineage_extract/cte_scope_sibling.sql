-- A CTE defined inside one subquery is not visible in a sibling subquery.
SELECT *
FROM (WITH t AS (SELECT 1 AS x) SELECT x FROM t) a
CROSS JOIN (SELECT x FROM t) b
