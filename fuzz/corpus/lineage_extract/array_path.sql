-- Correlated array paths are not tables.
SELECT o.id, item.sku, tag
FROM `p.shop.orders` AS o, o.items AS item
LEFT JOIN item.tags AS tag
CROSS JOIN orders.lines
WHERE EXISTS (SELECT 1 FROM o.items AS i2 WHERE i2.qty > 1)
