FROM ds.orders
|> WHERE status = 'done'
|> JOIN ds.customers USING (customer_id)
|> AGGREGATE COUNT(*) AS n GROUP BY country
