//! `serve:`: how the long-running service schedules, reloads, pings and stops, and
//! `serve.http`: how much its HTTP server lets any one client hold.

use serde::Deserialize;
use std::time::Duration;

/// `serve:` in `ripple.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// Each monitor runs up to this long after its tick (a stable per-monitor offset).
    #[serde(with = "crate::duration")]
    pub jitter: Duration,
    /// Poll the rules folder for changes (SIGHUP reloads too).
    pub watch_rules: bool,
    #[serde(with = "crate::duration")]
    pub reload_poll: Duration,
    /// How long in-flight runs may take to finish on SIGTERM.
    #[serde(with = "crate::duration")]
    pub shutdown_timeout: Duration,
    pub heartbeat: Option<HeartbeatConfig>,
    /// At start and reload, a monitor whose latest tick (at most this old) has no
    /// completed run runs at once.
    #[serde(with = "crate::duration")]
    pub catch_up: Duration,
    /// A Slack channel for notices about Ripple itself (downtime); the console when
    /// unset or without Slack.
    pub ops_channel: Option<String>,
    /// The HTTP server's timeouts and caps.
    pub http: HttpConfig,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            jitter: Duration::from_secs(30),
            watch_rules: true,
            reload_poll: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(30),
            heartbeat: None,
            catch_up: Duration::from_secs(24 * 3600),
            ops_channel: None,
            http: HttpConfig::default(),
        }
    }
}

/// `serve.heartbeat` in `ripple.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatConfig {
    /// Pinged with GET; any 2xx counts.
    pub url: String,
    /// The shortest time between two pings.
    #[serde(default = "default_interval", with = "crate::duration")]
    pub interval: std::time::Duration,
}

fn default_interval() -> std::time::Duration {
    std::time::Duration::from_secs(60)
}

/// `serve.http` in `ripple.yaml`: what a client may hold of the HTTP server. Checked when
/// the file is read (every bound must be positive, and the per-client cap may not exceed
/// the global one).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawHttp")]
pub struct HttpConfig {
    /// A connection whose request headers are not complete this long after it opened
    /// (or after its previous response) is closed. Default 10 s.
    pub header_read_timeout: Duration,
    /// A request (its body included) not answered within this is answered 408.
    /// Default 30 s.
    pub request_timeout: Duration,
    /// A request body larger than this is refused with 413. Default 1 MiB.
    pub max_body_bytes: usize,
    /// Open connections at once; one more is closed at accept, never queued. Default 512.
    pub max_connections: usize,
    /// Open connections at once from one IP address, so that one client cannot take
    /// them all. Default 64.
    pub max_connections_per_ip: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 1024 * 1024,
            max_connections: 512,
            max_connections_per_ip: 64,
        }
    }
}

/// `serve.http` as written, before its bounds are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawHttp {
    #[serde(with = "crate::duration")]
    header_read_timeout: Duration,
    #[serde(with = "crate::duration")]
    request_timeout: Duration,
    max_body_bytes: usize,
    max_connections: usize,
    max_connections_per_ip: usize,
}

impl Default for RawHttp {
    fn default() -> Self {
        let d = HttpConfig::default();
        RawHttp {
            header_read_timeout: d.header_read_timeout,
            request_timeout: d.request_timeout,
            max_body_bytes: d.max_body_bytes,
            max_connections: d.max_connections,
            max_connections_per_ip: d.max_connections_per_ip,
        }
    }
}

impl TryFrom<RawHttp> for HttpConfig {
    type Error = String;

    fn try_from(r: RawHttp) -> Result<Self, String> {
        let cfg = HttpConfig {
            header_read_timeout: r.header_read_timeout,
            request_timeout: r.request_timeout,
            max_body_bytes: r.max_body_bytes,
            max_connections: r.max_connections,
            max_connections_per_ip: r.max_connections_per_ip,
        };
        match cfg.problems().as_slice() {
            [] => Ok(cfg),
            problems => Err(problems.join("; ")),
        }
    }
}

impl HttpConfig {
    /// Every bound that is out of range, in words.
    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let zero_time = [
            ("header_read_timeout", self.header_read_timeout),
            ("request_timeout", self.request_timeout),
        ];
        for (name, d) in zero_time {
            if d.is_zero() {
                out.push(format!("{name} must be longer than 0s"));
            } else if d > MAX_TIMEOUT {
                out.push(format!("{name} may be at most 1h"));
            }
        }
        let counts = [
            ("max_body_bytes", self.max_body_bytes),
            ("max_connections", self.max_connections),
            ("max_connections_per_ip", self.max_connections_per_ip),
        ];
        for (name, n) in counts {
            if n == 0 {
                out.push(format!("{name} must be at least 1"));
            }
        }
        if self.max_connections_per_ip > self.max_connections {
            out.push(format!(
                "max_connections_per_ip ({}) may not exceed max_connections ({})",
                self.max_connections_per_ip, self.max_connections
            ));
        }
        out
    }
}

/// The longest header-read or request timeout accepted.
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(http: &str) -> Result<HttpConfig, String> {
        let text = format!("warehouse:\n  kind: sqlite\n  path: wh\nserve:\n  http: {http}\n");
        crate::config::Config::parse(Path::new("ripple.yaml"), &text)
            .map(|c| c.serve.http)
            .map_err(|d| format!("{d:?}"))
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let d = parse("{}").unwrap();
        assert_eq!(d, HttpConfig::default());
        assert_eq!(d.header_read_timeout, Duration::from_secs(10));
        assert_eq!(d.max_body_bytes, 1 << 20);
        assert_eq!((d.max_connections, d.max_connections_per_ip), (512, 64));
    }

    #[test]
    fn out_of_range_bounds_are_refused_by_name() {
        let e = parse("{ header_read_timeout: 0s, max_connections: 8 }").unwrap_err();
        assert!(
            e.contains("header_read_timeout must be longer than 0s"),
            "{e}"
        );
        assert!(
            e.contains("max_connections_per_ip (64) may not exceed"),
            "{e}"
        );
        let e = parse("{ max_body_bytes: 0 }").unwrap_err();
        assert!(e.contains("max_body_bytes must be at least 1"), "{e}");
        assert!(
            parse("{ max_conections: 8 }").is_err(),
            "unknown keys are errors"
        );
        let ok = parse("{ request_timeout: 5s, max_connections: 8, max_connections_per_ip: 2 }");
        assert_eq!(ok.unwrap().max_connections_per_ip, 2);
    }
}
