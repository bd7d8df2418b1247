EXPORT DATA OPTIONS (
  uri = 'gs://bucket/export/*.csv',
  format = 'CSV',
  overwrite = true
) AS
SELECT * FROM `p.mart.revenue` WHERE day = CURRENT_DATE()
