BEGIN
  IF (SELECT COUNT(*) FROM ds.flags WHERE on_) > 0 THEN
    INSERT INTO ds.a SELECT * FROM ds.src_a;
  ELSEIF TRUE THEN
    INSERT INTO ds.b SELECT * FROM ds.src_b;
  ELSE
    DELETE FROM ds.c WHERE TRUE;
  END IF;
  WHILE (SELECT COUNT(*) FROM ds.queue) > 0 DO
    DELETE FROM ds.queue WHERE id = (SELECT MIN(id) FROM ds.queue);
  END WHILE;
END
