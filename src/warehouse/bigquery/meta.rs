//! Metadata for lineage and usage statistics: view definitions from each dataset's
//! `INFORMATION_SCHEMA.VIEWS`, job history from `INFORMATION_SCHEMA.JOBS_BY_PROJECT`.
//! Every read is paged (datasets.list page tokens, `getQueryResults` page tokens).
//!
//! Views are read per dataset rather than region-wide: that works on every BigQuery and on
//! the emulator alike, at one small query per dataset.

use super::job::{Stop, error};
use super::{BigQueryWarehouse, rows};
use crate::warehouse::metadata::{JobRow, ViewRow};
use crate::warehouse::{QueryError, Rows};
use chrono::{DateTime, Utc};
use gcp_bigquery_client::error::BQError;
use gcp_bigquery_client::model::query_parameter::QueryParameter;
use gcp_bigquery_client::model::query_parameter_type::QueryParameterType;
use gcp_bigquery_client::model::query_parameter_value::QueryParameterValue;
use gcp_bigquery_client::model::query_request::QueryRequest;
use serde_json::Value;
use std::collections::HashMap;

/// Every view of the project, with its defining SQL.
pub(super) async fn views(wh: &BigQueryWarehouse) -> Result<Vec<ViewRow>, QueryError> {
    let mut out = Vec::new();
    for dataset in datasets(wh).await? {
        let sql = format!(
            "SELECT table_catalog, table_schema, table_name, view_definition \
             FROM `{}`.{dataset}.INFORMATION_SCHEMA.VIEWS ORDER BY table_name",
            wh.project
        );
        for row in query_all(wh, &sql, "views").await? {
            let cell = |i: usize| row.get(i).and_then(rows::text);
            out.push(ViewRow {
                project: cell(0),
                dataset: cell(1).unwrap_or_else(|| dataset.clone()),
                name: cell(2).unwrap_or_default(),
                sql: cell(3).unwrap_or_default(),
            });
        }
    }
    Ok(out)
}

/// Query jobs created at or after `since`, oldest first.
pub(super) async fn jobs(
    wh: &BigQueryWarehouse,
    since: DateTime<Utc>,
) -> Result<Vec<JobRow>, QueryError> {
    let sql = format!(
        "SELECT job_id, user_email, query, \
           IF(destination_table.table_id IS NULL, NULL, CONCAT(destination_table.project_id, '.', \
              destination_table.dataset_id, '.', destination_table.table_id)) AS destination, \
           ARRAY(SELECT CONCAT(t.project_id, '.', t.dataset_id, '.', t.table_id) \
                 FROM UNNEST(referenced_tables) AS t) AS referenced_tables, \
           UNIX_MICROS(creation_time) AS creation_micros, statement_type, labels, \
           error_result.message AS error \
         FROM `{}`.`region-{}`.INFORMATION_SCHEMA.JOBS_BY_PROJECT \
         WHERE creation_time >= TIMESTAMP_MICROS({}) AND job_type = 'QUERY' AND query IS NOT NULL \
         ORDER BY creation_time",
        wh.project,
        wh.location.to_lowercase(),
        since.timestamp_micros()
    );
    let rows = query_all(wh, &sql, "jobs").await?;
    Ok(rows.iter().filter_map(|r| job_row(r)).collect())
}

/// One JOBS_BY_PROJECT row, in the column order of the query above.
fn job_row(r: &[Value]) -> Option<JobRow> {
    let cell = |i: usize| r.get(i).and_then(rows::text);
    let micros: i64 = cell(5)?.parse().ok()?;
    Some(JobRow {
        job_id: cell(0)?,
        user_email: cell(1),
        query: cell(2).unwrap_or_default(),
        destination: cell(3),
        referenced_tables: r.get(4).map(rows::strings).unwrap_or_default(),
        creation_time: DateTime::from_timestamp_micros(micros)?,
        statement_type: cell(6),
        labels: r.get(7).map(rows::pairs).unwrap_or_default(),
        error: cell(8),
    })
}

/// Runs a metadata query and reads every page of its result.
async fn query_all(
    wh: &BigQueryWarehouse,
    sql: &str,
    what: &str,
) -> Result<Vec<Vec<Value>>, QueryError> {
    Ok(query_all_with(wh, sql, what, &[], usize::MAX).await?.rows)
}

/// A metadata query with named STRING parameters (`@since`), its columns named by the
/// result schema, at most `limit` rows (usage statistics).
pub(super) async fn query_rows(
    wh: &BigQueryWarehouse,
    sql: &str,
    params: &[(&str, String)],
    limit: usize,
) -> Result<Rows, QueryError> {
    query_all_with(wh, sql, "usage", params, limit).await
}

fn string_params(params: &[(&str, String)]) -> Vec<QueryParameter> {
    params
        .iter()
        .map(|(name, value)| QueryParameter {
            name: Some(name.to_string()),
            parameter_type: Some(QueryParameterType {
                r#type: "STRING".into(),
                ..Default::default()
            }),
            parameter_value: Some(QueryParameterValue {
                value: Some(value.clone()),
                ..Default::default()
            }),
        })
        .collect()
}

async fn query_all_with(
    wh: &BigQueryWarehouse,
    sql: &str,
    what: &str,
    params: &[(&str, String)],
    limit: usize,
) -> Result<Rows, QueryError> {
    let deadline = wh.deadline(wh.tuning.metadata_timeout);
    let fail = |s: Stop| match s {
        Stop::Deadline => QueryError::Timeout(wh.tuning.metadata_timeout),
        Stop::Failed(f) => error(f),
    };
    let params: Vec<QueryParameter> = string_params(params)
        .into_iter()
        .filter(|p| {
            p.name
                .as_deref()
                .is_some_and(|n| super::job::mentions(sql, n))
        })
        .collect();
    let request = QueryRequest {
        max_results: Some(i32::try_from(wh.tuning.page_size).unwrap_or(i32::MAX)),
        labels: Some(HashMap::from([("ripple_metadata".into(), what.into())])),
        parameter_mode: (!params.is_empty()).then(|| "NAMED".to_string()),
        query_parameters: (!params.is_empty()).then_some(params),
        ..wh.request(sql, deadline)
    };
    let call = || wh.own.job().query(&wh.project, request.clone());
    let first = super::job::Page::from_query(wh.call(deadline, call).await.map_err(fail)?);
    let mut page = wh
        .wait(&wh.own, first, wh.tuning.page_size, deadline)
        .await
        .map_err(fail)?;
    if let Some(f) = super::errors::Failure::from_job_errors(&page.errors) {
        return Err(error(f));
    }
    let total = page.total_rows;
    let columns = page
        .schema
        .as_ref()
        .and_then(|s| s.fields.as_ref())
        .map(|f| f.iter().map(|f| f.name.clone()).collect())
        .unwrap_or_default();
    let mut out: Vec<Vec<Value>> = page.rows.iter().map(rows::cells).collect();
    // Emulators send a page token even on the last page: stop when all rows are in.
    while let (Some(token), Some(job_id)) = (page.page_token.clone(), page.job_id.clone()) {
        let done = total.is_some_and(|t| out.len() as u64 >= t) || page.rows.is_empty();
        if done || out.len() >= limit {
            break;
        }
        page = wh
            .results(&wh.own, &job_id, wh.tuning.page_size, Some(token), deadline)
            .await
            .map_err(fail)?;
        out.extend(page.rows.iter().map(rows::cells));
    }
    out.truncate(limit);
    Ok(Rows { columns, rows: out })
}

/// The project's dataset ids, through `datasets.list` (paged). Read with a plain request:
/// the client's model requires fields that emulators leave out.
async fn datasets(wh: &BigQueryWarehouse) -> Result<Vec<String>, QueryError> {
    let deadline = wh.deadline(wh.tuning.metadata_timeout);
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let call = || datasets_page(wh, token.clone());
        let page = wh.call(deadline, call).await.map_err(|s| match s {
            Stop::Deadline => QueryError::Timeout(wh.tuning.metadata_timeout),
            Stop::Failed(f) => error(f),
        })?;
        out.extend(
            page.datasets
                .into_iter()
                .map(|d| d.dataset_reference.dataset_id),
        );
        token = page.next_page_token;
        if token.is_none() {
            return Ok(out);
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DatasetList {
    #[serde(default)]
    datasets: Vec<DatasetItem>,
    next_page_token: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DatasetItem {
    dataset_reference: DatasetRef,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DatasetRef {
    dataset_id: String,
}

async fn datasets_page(
    wh: &BigQueryWarehouse,
    token: Option<String>,
) -> Result<DatasetList, BQError> {
    let url = format!("{}/projects/{}/datasets", wh.api_url, wh.project);
    let mut req = wh
        .http
        .get(url)
        .query(&[("maxResults", "1000")])
        .bearer_auth(wh.own_auth.access_token().await?);
    if let Some(t) = token {
        req = req.query(&[("pageToken", t)]);
    }
    let resp = req.send().await?;
    if resp.status().is_success() {
        Ok(resp.json().await?)
    } else {
        Err(BQError::ResponseError {
            error: resp.json().await?,
        })
    }
}
