SELECT * FROM `p.tvf.orders_since`(DATE '2024-01-01') o
JOIN ds.customers c ON c.id = o.id
