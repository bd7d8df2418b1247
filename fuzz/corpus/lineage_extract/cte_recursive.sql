WITH RECURSIVE tree AS (
  SELECT id, parent FROM ds.nodes WHERE parent IS NULL
  UNION ALL
  SELECT n.id, n.parent FROM ds.nodes n JOIN tree t ON n.parent = t.id
)
SELECT * FROM tree
