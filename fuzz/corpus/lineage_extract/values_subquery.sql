INSERT INTO ds.t (a, b)
VALUES (1, (SELECT MAX(b) FROM ds.src1)), (2, (SELECT MIN(b) FROM ds.src2))
