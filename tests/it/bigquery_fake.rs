//! The BigQuery warehouse against a loopback fake of the REST API, for what the emulator
//! lacks: 4xx error bodies, 5xx and rate limits, polling, cancel, ASSERT failures,
//! `INFORMATION_SCHEMA.JOBS_BY_PROJECT`, impersonation. Time is a manual clock.

use super::fake_bigquery::{FakeBigQuery, done, error, failed_job, running};
use super::support::t0;
use chrono::Duration;
use ripple::clock::ManualClock;
use ripple::monitor::Outcome;
use ripple::monitor::runner::run_params;
use ripple::rules::Check;
use ripple::warehouse::bigquery::{
    Authenticator, BigQueryWarehouse, RetryPolicy, Settings, StaticToken, Tuning,
};
use ripple::warehouse::{MonitorQuery, QueryError, Warehouse};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

const SA: &str = "ripple-commerce@acme.iam.gserviceaccount.com";

struct Setup {
    fake: FakeBigQuery,
    clock: ManualClock,
    wh: BigQueryWarehouse,
}

async fn setup() -> Setup {
    let fake = FakeBigQuery::start().await;
    let clock = ManualClock::new(t0());
    let auth: Arc<dyn Authenticator> = Arc::new(StaticToken("ripple-own".into()));
    let wh = BigQueryWarehouse::build(Settings {
        project: "p".into(),
        location: "US".into(),
        api_url: fake.api_url(),
        iam_url: fake.iam_url(),
        auth,
        grants: BTreeMap::from([("commerce".to_string(), vec![SA.to_string()])]),
        clock: Arc::new(clock.clone()),
        tuning: Tuning {
            // Retries and polls without waiting: time is the manual clock's.
            retry: RetryPolicy {
                attempts: 4,
                base_delay: std::time::Duration::ZERO,
                max_delay: std::time::Duration::ZERO,
            },
            poll_interval: std::time::Duration::ZERO,
            page_size: 2,
            ..Tuning::default()
        },
    })
    .await
    .unwrap();
    Setup { fake, clock, wh }
}

fn query(sql: &str) -> MonitorQuery {
    MonitorQuery {
        monitor_id: "orders_without_payment".into(),
        team: "commerce".into(),
        check: Check::Rows { sql: sql.into() },
        sample: 0,
        timeout: std::time::Duration::from_secs(60),
        service_account: None,
        params: run_params(t0()),
    }
}

fn assert_query(sql: &str) -> MonitorQuery {
    MonitorQuery {
        check: Check::Assert { sql: sql.into() },
        ..query("")
    }
}

#[tokio::test]
async fn a_run_sends_max_results_zero_labels_and_location_and_counts_rows() {
    let s = setup().await;
    s.fake.on_query([done(3)]);
    let r = s.wh.run(&query("SELECT 1")).await.unwrap();
    assert_eq!(r.rows, 3);
    assert!(r.sample.is_empty());
    let sent = &s.fake.seen_at("/projects/p/queries")[0];
    assert_eq!(sent.body["maxResults"], 0);
    assert_eq!(sent.body["useLegacySql"], false);
    assert_eq!(sent.body["location"], "US");
    assert_eq!(
        sent.body["labels"],
        json!({"ripple_monitor": "orders_without_payment", "ripple_team": "commerce"})
    );
    assert_eq!(sent.auth, "Bearer ripple-own");
    assert!(
        sent.body["requestId"]
            .as_str()
            .unwrap()
            .starts_with("ripple-")
    );
}

#[tokio::test]
async fn a_4xx_error_body_is_an_error_with_bigquerys_message_and_is_not_retried() {
    let s = setup().await;
    let msg = "Unrecognized name: approved_by at [3:50]";
    s.fake.on_query([error(400, "invalidQuery", msg)]);
    let err = s.wh.run(&query("SELECT approved_by FROM t")).await;
    assert_eq!(err, Err(QueryError::Sql(msg.into())));
    assert_eq!(
        s.fake.seen_at("/queries").len(),
        1,
        "a failed query is never retried"
    );
}

#[tokio::test]
async fn a_200_with_an_errors_array_is_an_error_too() {
    let s = setup().await;
    s.fake
        .on_query([failed_job("notFound", "Not found: Table p:shop.nope")]);
    let outcome = Outcome::from_result(s.wh.run(&query("SELECT 1 FROM shop.nope")).await);
    assert_eq!(
        outcome,
        Outcome::Error {
            message: "Not found: Table p:shop.nope".into()
        }
    );
    assert_eq!(s.fake.seen_at("/queries").len(), 1);
}

#[tokio::test]
async fn server_errors_and_rate_limits_are_retried_with_the_same_request_id() {
    let s = setup().await;
    s.fake.on_query([
        error(503, "backendError", "The service is currently unavailable."),
        error(
            403,
            "rateLimitExceeded",
            "Exceeded rate limits: too many api requests",
        ),
        done(2),
    ]);
    let r = s.wh.run(&query("SELECT 1")).await.unwrap();
    assert_eq!(r.rows, 2);
    let sent = s.fake.seen_at("/queries");
    assert_eq!(sent.len(), 3);
    let ids: Vec<_> = sent.iter().map(|r| r.body["requestId"].clone()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
}

#[tokio::test]
async fn a_job_that_failed_with_backend_error_is_rerun_as_a_new_job() {
    let s = setup().await;
    s.fake
        .on_query([failed_job("backendError", "Backend error"), done(1)]);
    assert_eq!(s.wh.run(&query("SELECT 1")).await.unwrap().rows, 1);
    let sent = s.fake.seen_at("/queries");
    assert_eq!(sent.len(), 2);
    assert_ne!(sent[0].body["requestId"], sent[1].body["requestId"]);
}

#[tokio::test]
async fn retries_give_up_after_the_policy_allows() {
    let s = setup().await;
    s.fake
        .on_query([error(500, "internalError", "Internal error")]);
    let err = s.wh.run(&query("SELECT 1")).await.unwrap_err();
    assert!(
        matches!(&err, QueryError::Unavailable(m) if m.contains("gave up after 4 tries")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_unfinished_job_is_polled_until_complete() {
    let s = setup().await;
    s.fake.on_query([running("job_slow")]);
    s.fake.on_results([running("job_slow"), done(4)]);
    let r = s.wh.run(&query("SELECT 1")).await.unwrap();
    assert_eq!(r.rows, 4);
    let polls = s.fake.seen_at("/queries/job_slow");
    assert_eq!(polls.len(), 2);
    assert!(
        polls[0].query.contains("maxResults=0"),
        "{}",
        polls[0].query
    );
    assert!(polls[0].query.contains("location=US"), "{}", polls[0].query);
}

#[tokio::test]
async fn a_timeout_cancels_the_job() {
    let s = setup().await;
    s.fake.on_query([running("job_stuck")]);
    s.fake.on_results([running("job_stuck")]);
    s.fake.advance_on_poll(&s.clock, Duration::seconds(25));
    let err = s.wh.run(&query("SELECT 1")).await.unwrap_err();
    assert_eq!(err, QueryError::Timeout(std::time::Duration::from_secs(60)));
    let cancels = s.fake.seen_at("/jobs/job_stuck/cancel");
    assert_eq!(cancels.len(), 1, "{:#?}", s.fake.seen());
    assert_eq!(cancels[0].method, "POST");
}

#[tokio::test]
async fn a_false_assert_is_a_fail_with_its_message() {
    let s = setup().await;
    let sql = "ASSERT (SELECT COUNT(*) FROM loyalty.point_grants) = 0 AS 'point grants reference orders that do not exist'";
    s.fake.on_query([error(
        400,
        "invalidQuery",
        "point grants reference orders that do not exist at [1:1]",
    )]);
    let outcome = Outcome::from_result(s.wh.run(&assert_query(sql)).await);
    assert_eq!(
        outcome.summary(),
        "assertion failed: point grants reference orders that do not exist"
    );
    assert_eq!(outcome.label(), "fail");
}

#[tokio::test]
async fn an_assert_monitor_whose_table_is_missing_is_an_error_not_a_fail() {
    let s = setup().await;
    let sql = "ASSERT (SELECT COUNT(*) FROM loyalty.nope) = 0 AS 'no orphans'";
    s.fake
        .on_query([error(404, "notFound", "Not found: Table p:loyalty.nope")]);
    let outcome = Outcome::from_result(s.wh.run(&assert_query(sql)).await);
    assert_eq!(outcome.label(), "error");
}

#[tokio::test]
async fn a_sample_is_fetched_only_when_asked_for() {
    let s = setup().await;
    s.fake.on_query([(
        200,
        json!({"jobComplete": true, "jobReference": {"jobId": "j"}, "totalRows": "3",
            "schema": {"fields": [{"name": "id", "type": "INTEGER"}]},
            "rows": [{"f": [{"v": "57"}]}, {"f": [{"v": "131"}]}]}),
    )]);
    let q = MonitorQuery {
        sample: 2,
        ..query("SELECT id FROM shop.orders")
    };
    let r = s.wh.run(&q).await.unwrap();
    assert_eq!(r.rows, 3);
    assert_eq!(r.sample, [json!({"id": "57"}), json!({"id": "131"})]);
    assert_eq!(s.fake.seen_at("/queries")[0].body["maxResults"], 2);
}

#[tokio::test]
async fn named_parameters_are_sent_only_when_the_sql_uses_them() {
    let s = setup().await;
    s.fake.on_query([done(0)]);
    s.wh.run(&query("SELECT 1 WHERE @run_time > TIMESTAMP '2020-01-01'"))
        .await
        .unwrap();
    s.wh.run(&query("SELECT 1")).await.unwrap();
    let sent = s.fake.seen_at("/queries");
    assert_eq!(sent[0].body["parameterMode"], "NAMED");
    assert_eq!(
        sent[0].body["queryParameters"],
        json!([{"name": "run_time", "parameterType": {"type": "TIMESTAMP"},
            "parameterValue": {"value": "2026-11-20 00:00:00.000000+00:00"}}])
    );
    assert!(sent[1].body.get("queryParameters").is_none());
}

#[tokio::test]
async fn a_granted_service_account_is_impersonated() {
    let s = setup().await;
    s.fake.on_query([done(0)]);
    let q = MonitorQuery {
        service_account: Some(SA.into()),
        ..query("SELECT 1")
    };
    s.wh.run(&q).await.unwrap();
    s.wh.run(&q).await.unwrap();
    let iam = s.fake.seen_at(&format!("{SA}:generateAccessToken"));
    assert_eq!(iam.len(), 1, "the impersonated token is cached");
    assert_eq!(iam[0].auth, "Bearer ripple-own");
    assert_eq!(
        iam[0].body["scope"],
        json!(["https://www.googleapis.com/auth/bigquery"])
    );
    let sent = s.fake.seen_at("/queries");
    assert!(
        sent.iter()
            .all(|r| r.auth == format!("Bearer token-for-{SA}"))
    );
}

#[tokio::test]
async fn a_service_account_not_granted_to_the_team_never_runs() {
    let s = setup().await;
    let q = MonitorQuery {
        team: "finance".into(),
        service_account: Some(SA.into()),
        ..query("SELECT 1")
    };
    let err = s.wh.run(&q).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("service account `{SA}` is not granted to team `finance`; the monitor did not run")
    );
    assert!(s.fake.seen().is_empty());
}

#[tokio::test]
async fn a_dry_run_reports_bytes_and_errors() {
    let s = setup().await;
    s.fake.on_query([
        done(0),
        error(400, "invalidQuery", "Unrecognized name: x at [1:8]"),
    ]);
    let d = s.wh.dry_run(&query("SELECT 1")).await.unwrap();
    assert_eq!(d.bytes_processed, Some(1024));
    assert_eq!(s.fake.seen_at("/queries")[0].body["dryRun"], true);
    let err = s.wh.dry_run(&query("SELECT x")).await.unwrap_err();
    assert_eq!(err.to_string(), "Unrecognized name: x at [1:8]");
}

/// A JOBS_BY_PROJECT row in the REST shape, in the column order Ripple selects.
fn job(id: &str, micros: i64, labels: serde_json::Value) -> serde_json::Value {
    json!({"f": [
        {"v": id}, {"v": "ana@acme.com"}, {"v": "INSERT INTO marts.x SELECT * FROM shop.orders"},
        {"v": "p.marts.x"}, {"v": [{"v": "p.shop.orders"}, {"v": "p.finance.payments"}]},
        {"v": micros.to_string()}, {"v": "INSERT"}, {"v": labels}, {"v": null}
    ]})
}

#[tokio::test]
async fn job_history_is_read_across_pages() {
    let s = setup().await;
    let micros = t0().timestamp_micros();
    let ripple_label = json!([{"v": {"f": [{"v": "ripple_monitor"}, {"v": "m1"}]}}]);
    s.fake.on_query([(
        200,
        json!({"jobComplete": true, "jobReference": {"jobId": "meta_1"}, "totalRows": "3",
            "pageToken": "page-2", "rows": [job("a", micros, json!([])), job("b", micros + 1, ripple_label)]}),
    )]);
    s.fake.on_results([(
        200,
        json!({"jobComplete": true, "jobReference": {"jobId": "meta_1"}, "totalRows": "3",
            "rows": [job("c", micros + 2, json!([]))]}),
    )]);
    let jobs = s.wh.jobs(t0() - Duration::days(7)).await.unwrap();
    let ids: Vec<_> = jobs.iter().map(|j| j.job_id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert_eq!(jobs[0].destination.as_deref(), Some("p.marts.x"));
    assert_eq!(
        jobs[0].referenced_tables,
        ["p.shop.orders", "p.finance.payments"]
    );
    assert_eq!(jobs[0].creation_time, t0());
    assert_eq!(jobs[0].user_email.as_deref(), Some("ana@acme.com"));
    assert!(!jobs[0].is_ripple() && jobs[1].is_ripple());
    let sql = s.fake.seen_at("/queries")[0].body["query"].clone();
    let sql = sql.as_str().unwrap();
    assert!(
        sql.contains("`p`.`region-us`.INFORMATION_SCHEMA.JOBS_BY_PROJECT"),
        "{sql}"
    );
    let page2 = &s.fake.seen_at("/queries/meta_1")[0];
    assert!(page2.query.contains("pageToken=page-2"), "{}", page2.query);
}
