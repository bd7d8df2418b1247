SELECT *
FROM ds.a
JOIN ds.b ON a.id = b.id AND b.kind IN (SELECT kind FROM ds.kinds)
