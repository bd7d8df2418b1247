SELECT c.id, c.name, o.total
FROM EXTERNAL_QUERY('p.us.pg_conn', 'SELECT id, name FROM customers') AS c
JOIN `p.ds.orders` o ON o.customer_id = c.id
