SELECT *
FROM ds.a
WHERE id IN (SELECT id FROM ds.b)
  AND EXISTS (SELECT 1 FROM ds.c WHERE c.id = a.id)
  AND x > (SELECT AVG(x) FROM ds.d)
