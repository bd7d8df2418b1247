CREATE OR REPLACE PROCEDURE ds.refresh(day DATE)
BEGIN
  DELETE FROM ds.daily WHERE d = day;
  INSERT INTO ds.daily SELECT * FROM ds.raw WHERE d = day;
END
