SELECT k, COUNT(*) AS n
FROM ds.facts
GROUP BY k
HAVING COUNT(*) > (SELECT MIN(n) FROM ds.thresholds)
