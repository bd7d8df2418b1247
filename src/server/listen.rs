//! The accept loop: Ripple's own, over hyper, so that no client can hold the server.
//!
//! Each accepted connection is first admitted by the [`Gate`] (global and per-client
//! caps, fairness; over a cap it is closed at once), then served by hyper's HTTP/1 with a
//! header-read timeout, so a silent or slow-header connection (slowloris) is closed.
//! The router gets a request timeout (408) and a body limit (413). On shutdown the
//! listener is closed, idle connections are closed, and requests in flight get up to
//! `request_timeout` to finish.

use super::gate::{Gate, Refused, Ticket};
use crate::config::HttpConfig;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// Serves `router` on `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    cfg: &HttpConfig,
    shutdown: impl Future<Output = ()>,
) {
    let mut server = Server::new(router, cfg);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => server.accepted(accepted).await,
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    server.drain(cfg.request_timeout).await;
}

/// What every connection shares.
struct Server {
    router: Router,
    http: http1::Builder,
    gate: Gate,
    graceful: GracefulShutdown,
    tasks: JoinSet<()>,
}

impl Server {
    fn new(router: Router, cfg: &HttpConfig) -> Server {
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(cfg.header_read_timeout)
            .keep_alive(true);
        Server {
            router: limited(router, cfg),
            http,
            gate: Gate::new(cfg.max_connections, cfg.max_connections_per_ip),
            graceful: GracefulShutdown::new(),
            tasks: JoinSet::new(),
        }
    }

    async fn accepted(&mut self, accepted: std::io::Result<(TcpStream, SocketAddr)>) {
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: back off briefly, never spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                return;
            }
        };
        match self.gate.admit(peer.ip()) {
            Ok(ticket) => self.spawn(stream, ticket),
            Err(why) => refuse(stream, peer, why),
        }
    }

    fn spawn(&mut self, stream: TcpStream, ticket: Ticket) {
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(self.router.clone());
        let conn = self.http.serve_connection(TokioIo::new(stream), service);
        let conn = self.graceful.watch(conn);
        while self.tasks.try_join_next().is_some() {}
        self.tasks.spawn(async move {
            tokio::select! {
                done = conn => {
                    if let Err(e) = done {
                        tracing::debug!(error = %e, "connection ended");
                    }
                }
                () = ticket.evicted() => {
                    tracing::debug!("connection closed for a fairer client");
                }
            }
            drop(ticket);
        });
    }

    /// Closes idle connections, lets requests in flight finish within `limit`, then
    /// closes whatever is left.
    async fn drain(self, limit: Duration) {
        let Server {
            graceful,
            mut tasks,
            ..
        } = self;
        if tokio::time::timeout(limit, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("connections still open {limit:?} after shutdown; closing them");
        }
        tasks.shutdown().await;
    }
}

/// Closes a connection over a cap at once (dropping the stream).
fn refuse(stream: TcpStream, peer: SocketAddr, why: Refused) {
    tracing::debug!(%peer, ?why, "connection refused");
    drop(stream);
}

/// The router with the body limit and the request timeout.
fn limited(router: Router, cfg: &HttpConfig) -> Router {
    let bounds = Bounds {
        timeout: cfg.request_timeout,
        max_body: cfg.max_body_bytes,
    };
    router
        .layer(DefaultBodyLimit::max(cfg.max_body_bytes))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            bounded(bounds, req, next)
        }))
}

#[derive(Clone, Copy)]
struct Bounds {
    timeout: Duration,
    max_body: usize,
}

/// A body declared too large is refused before it is read (an undeclared one is cut
/// off by the body limit as it is read); the whole request runs within the timeout.
async fn bounded(bounds: Bounds, req: Request, next: Next) -> Response {
    if declared_len(&req).is_some_and(|n| n > bounds.max_body as u64) {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n").into_response();
    }
    match tokio::time::timeout(bounds.timeout, next.run(req)).await {
        Ok(res) => res,
        Err(_) => (StatusCode::REQUEST_TIMEOUT, "request timed out\n").into_response(),
    }
}

fn declared_len(req: &Request) -> Option<u64> {
    let value = req.headers().get(axum::http::header::CONTENT_LENGTH)?;
    value.to_str().ok()?.trim().parse().ok()
}
