-- A CTE named like the table it reads: inside its own body `orders` is the table.
WITH orders AS (
  SELECT * FROM orders WHERE status = 'done'
),
items AS (
  SELECT * FROM orders JOIN items USING (order_id)
)
SELECT * FROM items
