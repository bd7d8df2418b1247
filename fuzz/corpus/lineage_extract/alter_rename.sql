CREATE TABLE ds.orders_new AS SELECT * FROM ds.orders_raw;
ALTER TABLE ds.orders_new RENAME TO orders
