DECLARE i INT64 DEFAULT 0;
LOOP
  SET i = i + 1;
  INSERT INTO ds.looped SELECT * FROM ds.loop_src WHERE k = i;
  IF i >= 10 THEN
    LEAVE;
  END IF;
END LOOP;
FOR rec IN (SELECT id FROM ds.ids) DO
  INSERT INTO ds.per_id SELECT * FROM ds.details WHERE id = rec.id;
END FOR
