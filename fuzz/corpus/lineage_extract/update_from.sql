UPDATE ds.inventory i
SET quantity = i.quantity + s.delta
FROM ds.shipments s
JOIN ds.warehouses w ON w.id = s.warehouse_id
WHERE i.product = s.product
