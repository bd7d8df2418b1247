//! Who Ripple is on BigQuery: application default credentials, a service-account key,
//! the metadata server, nothing (an emulator) — and, per rule, an impersonated service
//! account granted to the rule's team.
//!
//! Impersonation wraps *any* of these sources: the source's token buys a short-lived
//! token for the target account from the IAM Credentials API (`generateAccessToken`).
//! yup-oauth2's own impersonation authenticator accepts only user credentials and a fixed
//! endpoint; Ripple usually runs as a service account (key or metadata server) and must be
//! testable against a loopback fake, so the same call is made here on top of any source.

use crate::clock::Clock;
use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use gcp_bigquery_client::auth::Authenticator;
use gcp_bigquery_client::error::{BQError, NestedResponseError, ResponseError};
use gcp_bigquery_client::yup_oauth2;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The OAuth scope of every token Ripple asks for.
pub const SCOPE: &str = "https://www.googleapis.com/auth/bigquery";

/// Tokens are renewed this long before they expire, so none expires mid-request.
const EARLY_RENEWAL: chrono::Duration = chrono::Duration::minutes(5);

/// No credentials: a local emulator accepts anything.
#[derive(Clone)]
pub struct NoAuth;

#[async_trait]
impl Authenticator for NoAuth {
    async fn access_token(&self) -> Result<String, BQError> {
        Ok(String::new())
    }
}

/// A fixed token: tests, and proxies that add their own credentials.
#[derive(Clone)]
pub struct StaticToken(pub String);

#[async_trait]
impl Authenticator for StaticToken {
    async fn access_token(&self) -> Result<String, BQError> {
        Ok(self.0.clone())
    }
}

type TokenFn = Arc<dyn Fn() -> BoxFuture<'static, Result<String, BQError>> + Send + Sync>;

/// A yup-oauth2 authenticator behind a closure, so its connector type need not be named.
#[derive(Clone)]
struct Yup(TokenFn);

#[async_trait]
impl Authenticator for Yup {
    async fn access_token(&self) -> Result<String, BQError> {
        (self.0)().await
    }
}

macro_rules! yup {
    ($auth:expr) => {{
        let auth = $auth;
        let f: TokenFn = Arc::new(move || {
            let auth = auth.clone();
            Box::pin(async move {
                let token = auth.token(&[SCOPE]).await?;
                token.token().map(str::to_string).ok_or(BQError::NoToken)
            })
        });
        Arc::new(Yup(f)) as Arc<dyn Authenticator>
    }};
}

/// Application default credentials: the file named by `GOOGLE_APPLICATION_CREDENTIALS`,
/// else gcloud's `application_default_credentials.json`, else the metadata server.
pub async fn adc(metadata: MetadataServer) -> anyhow::Result<Arc<dyn Authenticator>> {
    match adc_file() {
        Some(path) => credentials_file(&path).await,
        None => Ok(Arc::new(metadata)),
    }
}

/// The service-account key named by `GOOGLE_APPLICATION_CREDENTIALS`.
pub async fn key_file() -> anyhow::Result<Arc<dyn Authenticator>> {
    let path = env_credentials().context(
        "`credentials: key_file` reads the key named by GOOGLE_APPLICATION_CREDENTIALS, which is not set",
    )?;
    let key = yup_oauth2::read_service_account_key(&path)
        .await
        .with_context(|| format!("cannot read the service-account key {}", path.display()))?;
    let auth = yup_oauth2::ServiceAccountAuthenticator::builder(key)
        .build()
        .await?;
    Ok(yup!(auth))
}

fn env_credentials() -> Option<PathBuf> {
    std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn adc_file() -> Option<PathBuf> {
    env_credentials().or_else(|| {
        let home = std::env::var_os("HOME")?;
        let path = Path::new(&home).join(".config/gcloud/application_default_credentials.json");
        path.is_file().then_some(path)
    })
}

/// A credentials file of either kind gcloud writes: a service-account key, or a user's
/// refresh token from `gcloud auth application-default login`.
async fn credentials_file(path: &Path) -> anyhow::Result<Arc<dyn Authenticator>> {
    let text = tokio::fs::read_to_string(path)
        .await
        .with_context(|| format!("cannot read the credentials file {}", path.display()))?;
    #[derive(serde::Deserialize)]
    struct Kind {
        #[serde(rename = "type")]
        kind: String,
    }
    let kind: Kind = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a Google credentials file", path.display()))?;
    match kind.kind.as_str() {
        "service_account" => {
            let key = yup_oauth2::parse_service_account_key(&text)?;
            let auth = yup_oauth2::ServiceAccountAuthenticator::builder(key)
                .build()
                .await?;
            Ok(yup!(auth))
        }
        "authorized_user" => {
            let secret: yup_oauth2::authorized_user::AuthorizedUserSecret =
                serde_json::from_str(&text)?;
            let auth = yup_oauth2::AuthorizedUserAuthenticator::builder(secret)
                .build()
                .await?;
            Ok(yup!(auth))
        }
        other => anyhow::bail!(
            "unsupported credentials type `{other}` in {}; use a service-account key or `gcloud auth application-default login`",
            path.display()
        ),
    }
}

/// A cached token and when to stop using it.
type Cached = tokio::sync::Mutex<Option<(String, DateTime<Utc>)>>;

/// The GCE/GKE metadata server (workload identity): the VM's or pod's service account.
#[derive(Clone)]
pub struct MetadataServer {
    url: String,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    cache: Arc<Cached>,
}

impl MetadataServer {
    pub fn new(url: &str, http: reqwest::Client, clock: Arc<dyn Clock>) -> Self {
        MetadataServer {
            url: url.trim_end_matches('/').to_string(),
            http,
            clock,
            cache: Arc::default(),
        }
    }

    async fn fetch(&self) -> Result<(String, DateTime<Utc>), BQError> {
        #[derive(serde::Deserialize)]
        struct Token {
            access_token: String,
            expires_in: i64,
        }
        let url = format!(
            "{}/computeMetadata/v1/instance/service-accounts/default/token",
            self.url
        );
        let resp = self
            .http
            .get(url)
            .header("Metadata-Flavor", "Google")
            .send()
            .await?;
        let token: Token = json_or_error(resp, "the metadata server").await?;
        let expiry = self.clock.now() + chrono::Duration::seconds(token.expires_in);
        Ok((token.access_token, expiry))
    }
}

#[async_trait]
impl Authenticator for MetadataServer {
    async fn access_token(&self) -> Result<String, BQError> {
        cached(&self.cache, &*self.clock, || self.fetch()).await
    }
}

/// A service account impersonated from a source identity through the IAM Credentials API.
#[derive(Clone)]
pub struct Impersonated {
    source: Arc<dyn Authenticator>,
    email: String,
    iam_url: String,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    cache: Arc<Cached>,
}

impl Impersonated {
    pub fn new(
        source: Arc<dyn Authenticator>,
        email: &str,
        iam_url: &str,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Impersonated {
            source,
            email: email.to_string(),
            iam_url: iam_url.trim_end_matches('/').to_string(),
            http,
            clock,
            cache: Arc::default(),
        }
    }

    async fn fetch(&self) -> Result<(String, DateTime<Utc>), BQError> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Token {
            access_token: String,
            expire_time: DateTime<Utc>,
        }
        let url = format!(
            "{}/projects/-/serviceAccounts/{}:generateAccessToken",
            self.iam_url, self.email
        );
        let body = serde_json::json!({ "scope": [SCOPE], "lifetime": "3600s" });
        let resp = self
            .http
            .post(url)
            .bearer_auth(self.source.access_token().await?)
            .json(&body)
            .send()
            .await?;
        let what = format!("impersonating `{}`", self.email);
        let token: Token = json_or_error(resp, &what).await?;
        Ok((token.access_token, token.expire_time))
    }
}

#[async_trait]
impl Authenticator for Impersonated {
    async fn access_token(&self) -> Result<String, BQError> {
        cached(&self.cache, &*self.clock, || self.fetch()).await
    }
}

/// The cached token while it is fresh, else a new one. The lock is held while fetching,
/// so concurrent monitors share one refresh instead of stampeding the token endpoint.
async fn cached<F, Fut>(cache: &Cached, clock: &dyn Clock, fetch: F) -> Result<String, BQError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(String, DateTime<Utc>), BQError>>,
{
    let mut slot = cache.lock().await;
    if let Some((token, expiry)) = slot.as_ref()
        && clock.now() + EARLY_RENEWAL < *expiry
    {
        return Ok(token.clone());
    }
    let (token, expiry) = fetch().await?;
    *slot = Some((token.clone(), expiry));
    Ok(token)
}

/// A token endpoint's JSON, or its error as BigQuery-shaped `ResponseError` so that it is
/// classified (5xx retried, 403 reported) like any other failed call.
async fn json_or_error<T: serde::de::DeserializeOwned>(
    resp: reqwest::Response,
    what: &str,
) -> Result<T, BQError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp.json().await?);
    }
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    let detail = body
        .pointer("/error/message")
        .and_then(|m| m.as_str())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error"));
    let reason = if status.is_server_error() {
        "backendError"
    } else {
        "accessDenied"
    };
    Err(BQError::ResponseError {
        error: ResponseError {
            error: NestedResponseError {
                code: i64::from(status.as_u16()),
                errors: vec![HashMap::from([("reason".to_string(), reason.to_string())])],
                message: format!("{what} failed: {detail}"),
                status: String::new(),
            },
        },
    })
}
