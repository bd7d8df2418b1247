//! BigQuery: monitors run as `jobs.query` with `maxResults=0`, so Ripple learns whether
//! rows came back and how many, never the data (a rule may opt in to a small sample).
//!
//! Each run carries the labels `ripple_monitor` and `ripple_team` (usage statistics skip
//! Ripple's own jobs), is bounded by the monitor's timeout (the job is cancelled when it
//! expires) and runs as Ripple itself or as a service account granted to the rule's team.
//! The API base URL is configurable: Google, an emulator, a proxy, a private endpoint.

mod auth;
mod errors;
mod job;
mod meta;
mod retry;
mod rows;

pub use auth::{Impersonated, MetadataServer, NoAuth, SCOPE, StaticToken};
pub use gcp_bigquery_client::auth::Authenticator;
pub use retry::RetryPolicy;

use super::metadata::{JobRow, ViewRow};
use super::{DryRun, MonitorQuery, QueryError, QueryResult, Rows, Warehouse};
use crate::clock::Clock;
use crate::config::{BigqueryCredentials, Config, WarehouseConfig};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gcp_bigquery_client::Client;
use gcp_bigquery_client::client_builder::ClientBuilder;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// Timing knobs. The defaults suit BigQuery; tests shorten them.
#[derive(Debug, Clone)]
pub struct Tuning {
    pub retry: RetryPolicy,
    /// The longest one `jobs.query`/`getQueryResults` call may wait server-side.
    pub max_wait: Duration,
    /// Pause between polls of an unfinished job, for servers that do not wait themselves.
    pub poll_interval: Duration,
    /// Rows per page of metadata queries.
    pub page_size: u32,
    /// The deadline of one metadata read (all its pages).
    pub metadata_timeout: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            retry: RetryPolicy::default(),
            max_wait: Duration::from_secs(10),
            poll_interval: Duration::from_millis(200),
            page_size: 1000,
            metadata_timeout: Duration::from_secs(600),
        }
    }
}

/// Everything a BigQuery warehouse is built from.
pub struct Settings {
    pub project: String,
    pub location: String,
    /// Up to and including `/bigquery/v2`.
    pub api_url: String,
    /// IAM Credentials API base (impersonation).
    pub iam_url: String,
    /// Ripple's own identity; impersonation starts from it.
    pub auth: Arc<dyn Authenticator>,
    /// Team → the service accounts its rules may run as.
    pub grants: BTreeMap<String, Vec<String>>,
    pub clock: Arc<dyn Clock>,
    pub tuning: Tuning,
}

/// A BigQuery project monitors run in.
pub struct BigQueryWarehouse {
    project: String,
    location: String,
    api_url: String,
    http: reqwest::Client,
    own_auth: Arc<dyn Authenticator>,
    own: Client,
    /// One client per granted service account, each with its impersonated token.
    as_account: HashMap<String, Client>,
    grants: BTreeMap<String, Vec<String>>,
    clock: Arc<dyn Clock>,
    tuning: Tuning,
}

impl BigQueryWarehouse {
    /// Opens the warehouse `ripple.yaml` describes (credentials from the environment).
    pub async fn open(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let WarehouseConfig::Bigquery {
            project,
            location,
            api_url,
            credentials,
            iam_url,
            metadata_url,
        } = &config.warehouse
        else {
            anyhow::bail!("the configured warehouse is not BigQuery");
        };
        let metadata = MetadataServer::new(metadata_url, http_client()?, clock.clone());
        let auth: Arc<dyn Authenticator> = match credentials {
            BigqueryCredentials::Adc => auth::adc(metadata).await?,
            BigqueryCredentials::KeyFile => auth::key_file().await?,
            BigqueryCredentials::Metadata => Arc::new(metadata),
            BigqueryCredentials::None => Arc::new(NoAuth),
        };
        let grants = config
            .teams
            .iter()
            .map(|t| (t.name.clone(), t.service_accounts.clone()))
            .collect();
        Self::build(Settings {
            project: project.clone(),
            location: location.clone(),
            api_url: api_url.clone(),
            iam_url: iam_url.clone(),
            auth,
            grants,
            clock,
            tuning: Tuning::default(),
        })
        .await
    }

    /// Builds the clients: Ripple's own, and one per granted service account. Nothing is
    /// fetched yet: tokens are requested on first use.
    pub async fn build(s: Settings) -> anyhow::Result<Self> {
        let http = http_client()?;
        let api_url = s.api_url.trim_end_matches('/').to_string();
        let own = client(&api_url, s.auth.clone(), &http).await?;
        let mut as_account = HashMap::new();
        for sa in s.grants.values().flatten() {
            if !as_account.contains_key(sa) {
                let imp = Impersonated::new(
                    s.auth.clone(),
                    sa,
                    &s.iam_url,
                    http.clone(),
                    s.clock.clone(),
                );
                let c = client(&api_url, Arc::new(imp), &http).await?;
                as_account.insert(sa.clone(), c);
            }
        }
        Ok(BigQueryWarehouse {
            project: s.project,
            location: s.location,
            api_url,
            http,
            own_auth: s.auth,
            own,
            as_account,
            grants: s.grants,
            clock: s.clock,
            tuning: s.tuning,
        })
    }

    /// The client a monitor runs with. The grant is checked again here, not only by
    /// `ripple check`: a monitor never runs as an account its team was not granted.
    fn client_for(&self, q: &MonitorQuery) -> Result<&Client, QueryError> {
        let Some(sa) = &q.service_account else {
            return Ok(&self.own);
        };
        let granted = self.grants.get(&q.team).is_some_and(|g| g.contains(sa));
        match self.as_account.get(sa) {
            Some(c) if granted => Ok(c),
            _ => Err(QueryError::Sql(format!(
                "service account `{sa}` is not granted to team `{}`; the monitor did not run",
                q.team
            ))),
        }
    }

    fn remaining(&self, deadline: DateTime<Utc>) -> Option<Duration> {
        (deadline - self.clock.now())
            .to_std()
            .ok()
            .filter(|d| !d.is_zero())
    }

    fn deadline(&self, timeout: Duration) -> DateTime<Utc> {
        let now = self.clock.now();
        chrono::Duration::from_std(timeout)
            .ok()
            .and_then(|t| now.checked_add_signed(t))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()?)
}

async fn client(
    api_url: &str,
    auth: Arc<dyn Authenticator>,
    http: &reqwest::Client,
) -> anyhow::Result<Client> {
    Ok(ClientBuilder::new()
        .with_v2_base_url(api_url.to_string())
        .with_client(http.clone())
        .build_from_authenticator(auth)
        .await?)
}

#[async_trait]
impl Warehouse for BigQueryWarehouse {
    async fn run(&self, q: &MonitorQuery) -> Result<QueryResult, QueryError> {
        job::run_monitor(self, self.client_for(q)?, q).await
    }

    async fn dry_run(&self, q: &MonitorQuery) -> Result<DryRun, QueryError> {
        job::dry_run(self, self.client_for(q)?, q).await
    }

    async fn views(&self) -> Result<Vec<ViewRow>, QueryError> {
        meta::views(self).await
    }

    async fn jobs(&self, since: DateTime<Utc>) -> Result<Vec<JobRow>, QueryError> {
        meta::jobs(self, since).await
    }

    async fn query_rows(
        &self,
        sql: &str,
        params: &[(&str, String)],
        limit: usize,
    ) -> Result<Rows, QueryError> {
        meta::query_rows(self, sql, params, limit).await
    }
}
