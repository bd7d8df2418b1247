CREATE OR REPLACE TABLE FUNCTION `p.tvf.orders_since`(since DATE)
RETURNS TABLE<id INT64, ts TIMESTAMP>
AS
SELECT id, ts FROM `p.shop.orders` WHERE DATE(ts) >= since
