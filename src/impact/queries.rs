//! Default usage queries. Each returns one row per (table, user, day):
//! `table_name`, `user_email`, `day` (YYYY-MM-DD), `jobs`, for jobs since `@since`,
//! excluding failed jobs and Ripple's own monitor jobs (labelled `ripple_monitor`).
//! Override with `impact.usage_query` (same columns, same parameter).

/// BigQuery: the project's job history in the warehouse's location (`US`, `EU`,
/// `asia-northeast1`, …).
pub fn bigquery(project: &str, location: &str) -> String {
    let region = location.to_lowercase();
    format!(
        "SELECT CONCAT(t.project_id, '.', t.dataset_id, '.', t.table_id) AS table_name,
       user_email,
       FORMAT_DATE('%F', DATE(creation_time)) AS day,
       COUNT(*) AS jobs
FROM `{project}`.`region-{region}`.INFORMATION_SCHEMA.JOBS_BY_PROJECT, UNNEST(referenced_tables) AS t
WHERE creation_time >= TIMESTAMP(@since)
  AND state = 'DONE' AND error_result IS NULL
  AND NOT EXISTS (SELECT 1 FROM UNNEST(labels) AS l WHERE l.key = 'ripple_monitor')
GROUP BY table_name, user_email, day"
    )
}

/// The demo's SQLite warehouse: the JOBS-shaped table `region_us.jobs_by_project`
/// (arrays and labels as JSON text).
pub const SQLITE: &str = "SELECT r.value AS table_name,
       j.user_email AS user_email,
       date(j.creation_time) AS day,
       COUNT(*) AS jobs
FROM region_us.jobs_by_project AS j, json_each(j.referenced_tables) AS r
WHERE j.creation_time >= @since
  AND j.state = 'DONE' AND j.error_result IS NULL
  AND json_extract(j.labels, '$.ripple_monitor') IS NULL
GROUP BY r.value, j.user_email, date(j.creation_time)";
