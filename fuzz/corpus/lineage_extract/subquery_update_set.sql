UPDATE ds.target t
SET score = (SELECT AVG(s) FROM ds.scores s WHERE s.id = t.id)
WHERE t.id IN (SELECT id FROM ds.changed)
