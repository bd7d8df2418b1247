CREATE TABLE ds.copy1 LIKE ds.orig;
CREATE TABLE ds.copy2 CLONE ds.orig2;
CREATE TABLE IF NOT EXISTS ds.empty (id INT64, name STRING)
