CREATE TEMP TABLE stage AS
SELECT * FROM `p.raw.orders` WHERE day = CURRENT_DATE();
CREATE TEMP TABLE enriched AS
SELECT s.*, c.segment FROM stage s JOIN `p.raw.customers` c USING (customer_id);
MERGE `p.mart.orders` t
USING enriched e ON t.id = e.id
WHEN NOT MATCHED THEN INSERT ROW;
DROP TABLE enriched
