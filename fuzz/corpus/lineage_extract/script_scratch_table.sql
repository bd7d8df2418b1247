CREATE OR REPLACE TABLE ds.tmp_scratch AS SELECT * FROM ds.src;
INSERT INTO ds.final SELECT * FROM ds.tmp_scratch;
DROP TABLE ds.tmp_scratch
