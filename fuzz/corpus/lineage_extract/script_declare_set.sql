DECLARE max_day DATE DEFAULT (SELECT MAX(day) FROM ds.watermark);
DECLARE n INT64;
SET n = (SELECT COUNT(*) FROM ds.pending);
INSERT INTO ds.target SELECT * FROM ds.source WHERE day > max_day
