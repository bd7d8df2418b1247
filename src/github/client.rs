//! Talking to GitHub: credentials from the environment, an octocrab client on the
//! configured base URL, and raw JSON calls that keep status and headers.
//!
//! Calls go through octocrab's transport (auth, App installation tokens, base URL,
//! rustls) but not its typed error mapping, because that drops the `Retry-After` and
//! rate-limit headers the outbox needs. Responses are parsed into octocrab's own models.
//! Paths are relative (`/repos/..`): octocrab only attaches credentials to relative
//! URIs or api.github.com, and prefixes the base URL (with its path, for GHES) itself.

use super::error::ApiError;
use crate::clock::Clock;
use crate::config::{Secret, Secrets};
use anyhow::Context;
use http::{HeaderMap, Method};
use octocrab::Octocrab;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;

/// How Ripple authenticates to GitHub.
#[derive(Debug, Clone)]
pub enum Auth {
    /// A personal or fine-grained token (`GITHUB_TOKEN`).
    Token(Secret),
    /// A GitHub App installation; octocrab mints and refreshes installation tokens.
    App {
        app_id: u64,
        private_key: Secret,
        installation_id: u64,
    },
}

const APP_VARS: [&str; 3] = [
    "GITHUB_APP_ID",
    "GITHUB_APP_PRIVATE_KEY",
    "GITHUB_APP_INSTALLATION_ID",
];

impl Auth {
    /// Prefers a complete set of App credentials, then a token; otherwise says exactly
    /// which variables to set.
    pub fn from_secrets(s: &Secrets) -> Result<Auth, String> {
        let app = [
            &s.github_app_id,
            &s.github_app_private_key,
            &s.github_app_installation_id,
        ];
        if app.iter().all(|v| v.is_some()) {
            return Self::app(s);
        }
        if let Some(t) = &s.github_token {
            return Ok(Auth::Token(t.clone()));
        }
        let missing: Vec<&str> = APP_VARS
            .iter()
            .zip(app)
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| *k)
            .collect();
        if missing.len() < APP_VARS.len() {
            return Err(format!(
                "GitHub App credentials are incomplete: set {} (or use GITHUB_TOKEN instead)",
                missing.join(", ")
            ));
        }
        Err("`github:` is configured in ripple.yaml but no GitHub credentials are set: \
             set GITHUB_TOKEN, or GITHUB_APP_ID + GITHUB_APP_PRIVATE_KEY + GITHUB_APP_INSTALLATION_ID \
             (or remove the `github:` section to preview issues on the console)"
            .into())
    }

    fn app(s: &Secrets) -> Result<Auth, String> {
        let num = |v: &Option<Secret>, name: &str| {
            let text = v.as_ref().map(Secret::expose).unwrap_or_default();
            text.trim()
                .parse::<u64>()
                .map_err(|_| format!("{name} must be a number"))
        };
        Ok(Auth::App {
            app_id: num(&s.github_app_id, "GITHUB_APP_ID")?,
            private_key: s.github_app_private_key.clone().expect("checked"),
            installation_id: num(&s.github_app_installation_id, "GITHUB_APP_INSTALLATION_ID")?,
        })
    }
}

/// Builds the octocrab client. No internal retries: the outbox owns back-off.
pub fn build(api_url: &str, auth: &Auth) -> anyhow::Result<Octocrab> {
    let builder = Octocrab::builder()
        .base_uri(api_url)
        .with_context(|| format!("github.api_url `{api_url}` is not a valid URL"))?
        .set_connect_timeout(Some(Duration::from_secs(10)))
        .set_read_timeout(Some(Duration::from_secs(30)));
    let octo = match auth {
        Auth::Token(t) => builder.personal_token(t.expose().to_string()).build()?,
        Auth::App {
            app_id,
            private_key,
            installation_id,
        } => {
            // Keys pasted into one-line variables often carry literal `\n`.
            let pem = private_key.expose().replace("\\n", "\n");
            let key = octocrab::EncodingKey::from_rsa_pem(pem.as_bytes())
                .context("GITHUB_APP_PRIVATE_KEY is not an RSA private key in PEM form")?;
            builder
                .app((*app_id).into(), key)
                .build()?
                .installation((*installation_id).into())?
        }
    };
    Ok(octo)
}

/// Raw JSON calls with GitHub's failure semantics preserved.
#[derive(Clone)]
pub struct Api {
    octo: Octocrab,
    clock: Arc<dyn Clock>,
}

/// A response as received.
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Api {
    pub fn new(octo: Octocrab, clock: Arc<dyn Clock>) -> Api {
        Api { octo, clock }
    }

    pub async fn get<T: DeserializeOwned>(&self, what: &str, path: &str) -> Result<T, ApiError> {
        let r = self.send::<()>(Method::GET, what, path, None).await?;
        self.parse(what, r)
    }

    /// GET where 404 is an answer, not a failure.
    pub async fn get_opt<T: DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
    ) -> Result<Option<T>, ApiError> {
        match self.send::<()>(Method::GET, what, path, None).await? {
            r if r.status == 404 => Ok(None),
            r => self.parse(what, r).map(Some),
        }
    }

    /// GitHub's yes/no endpoints: 204 yes, 404 no.
    pub async fn check(&self, what: &str, path: &str) -> Result<bool, ApiError> {
        let r = self.send::<()>(Method::GET, what, path, None).await?;
        match r.status {
            200..=299 => Ok(true),
            404 => Ok(false),
            _ => Err(self.failure(what, &r)),
        }
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        let r = self.send(Method::POST, what, path, Some(body)).await?;
        self.parse(what, r)
    }

    pub async fn patch<B: Serialize, T: DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        let r = self.send(Method::PATCH, what, path, Some(body)).await?;
        self.parse(what, r)
    }

    async fn send<B: Serialize>(
        &self,
        method: Method,
        what: &str,
        path: &str,
        body: Option<&B>,
    ) -> Result<Reply, ApiError> {
        let sent = match method {
            Method::POST => self.octo._post(path, body).await,
            Method::PATCH => self.octo._patch(path, body).await,
            _ => self.octo._get(path).await,
        };
        let resp = sent.map_err(|e| self.octocrab_failure(what, e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = self
            .octo
            .body_to_string(resp)
            .await
            .map_err(|e| ApiError::transport(what, e))?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    fn parse<T: DeserializeOwned>(&self, what: &str, r: Reply) -> Result<T, ApiError> {
        if !(200..300).contains(&r.status) {
            return Err(self.failure(what, &r));
        }
        serde_json::from_str(&r.body)
            .map_err(|e| ApiError::transport(what, format!("unexpected response: {e}")))
    }

    fn failure(&self, what: &str, r: &Reply) -> ApiError {
        ApiError::from_response(what, r.status, &r.headers, &r.body, self.clock.now())
    }

    /// Errors octocrab raises before a response exists (e.g. minting an App token).
    fn octocrab_failure(&self, what: &str, e: octocrab::Error) -> ApiError {
        match e {
            octocrab::Error::GitHub { source, .. } => ApiError {
                status: Some(source.status_code.as_u16()),
                message: format!("GitHub refused {what}: {}", source.message),
                retry_after: None,
            },
            other => ApiError::transport(what, other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(pairs: &[(&str, &str)]) -> Secrets {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Secrets::from_lookup(|k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn no_credentials_names_every_variable() {
        let e = Auth::from_secrets(&secrets(&[])).unwrap_err();
        for var in ["GITHUB_TOKEN", "GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY"] {
            assert!(e.contains(var), "{e}");
        }
    }

    #[test]
    fn incomplete_app_credentials_name_what_is_missing() {
        let e = Auth::from_secrets(&secrets(&[("GITHUB_APP_ID", "12")])).unwrap_err();
        assert!(
            e.contains("set GITHUB_APP_PRIVATE_KEY, GITHUB_APP_INSTALLATION_ID"),
            "{e}"
        );
    }

    #[test]
    fn an_app_is_preferred_to_a_token() {
        let s = secrets(&[
            ("GITHUB_TOKEN", "ghp_x"),
            ("GITHUB_APP_ID", "12"),
            ("GITHUB_APP_PRIVATE_KEY", "pem"),
            ("GITHUB_APP_INSTALLATION_ID", "34"),
        ]);
        assert!(matches!(
            Auth::from_secrets(&s),
            Ok(Auth::App {
                app_id: 12,
                installation_id: 34,
                ..
            })
        ));
        let t = Auth::from_secrets(&secrets(&[("GITHUB_TOKEN", "ghp_x")])).unwrap();
        assert!(matches!(t, Auth::Token(_)));
    }
}
