-- sqlparser does not parse this statement; the fallback scanner still finds the tables.
SELECT 1 << 2 AS shifted, a.x FROM ds.left_side a JOIN ds.right_side b ON a.id = b.id;
INSERT INTO ds.ok_target SELECT * FROM ds.ok_source
