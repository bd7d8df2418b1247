-- Rows here are payments whose amount disagrees with the order they pay for.
SELECT p.id, p.order_id, p.amount AS paid, o.amount AS ordered
FROM finance.payments AS p
JOIN shop.orders AS o ON o.id = p.order_id
WHERE ABS(p.amount - o.amount) > 0.005
