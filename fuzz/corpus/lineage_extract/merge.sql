MERGE `p.ds.customers` T
USING (
  SELECT * FROM `p.staging.customers_delta`
  UNION ALL
  SELECT * FROM `p.staging.customers_backfill`
) S
ON T.id = S.id
WHEN MATCHED AND S.deleted THEN DELETE
WHEN MATCHED THEN UPDATE SET name = S.name, tier = (SELECT tier FROM `p.ref.tiers` x WHERE x.id = S.tier_id)
WHEN NOT MATCHED BY TARGET THEN INSERT ROW
WHEN NOT MATCHED BY SOURCE AND T.id IN (SELECT id FROM `p.ref.keep`) THEN DELETE
