SELECT * FROM ds.sales
PIVOT (SUM(amount) FOR quarter IN ('Q1', 'Q2'));
SELECT * FROM ds.wide
UNPIVOT (amount FOR quarter IN (q1, q2));
SELECT * FROM (SELECT product, quarter, amount FROM ds.sales2)
PIVOT (SUM(amount) FOR quarter IN ('Q1', 'Q2'))
