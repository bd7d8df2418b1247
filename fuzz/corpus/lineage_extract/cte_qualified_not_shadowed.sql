WITH customers AS (SELECT 1 AS id)
SELECT *
FROM customers
JOIN crm.customers c2 USING (id)
JOIN `p.crm.customers` c3 USING (id)
