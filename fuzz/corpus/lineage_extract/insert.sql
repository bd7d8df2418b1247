INSERT INTO `p.ds.daily` (day, n)
SELECT DATE(ts), COUNT(*) FROM `p.ds.events` GROUP BY 1;
INSERT p.ds.daily2 SELECT * FROM p.ds.daily;
INSERT INTO p.ds.plain VALUES (1, 'a')
