//! The operations destination: notices about Ripple itself (it was down, it is
//! catching up), not about a monitor. The console by default; a Slack channel when
//! `serve.ops_channel` is set. Notices are stored before they are sent
//! (`store::service`), so an outage delays one, never drops it.

use async_trait::async_trait;

#[async_trait]
pub trait OpsSink: Send + Sync {
    /// Where notices go, for logs (`console`, `slack:#data-ops`).
    fn name(&self) -> String;
    async fn tell(&self, text: &str) -> anyhow::Result<()>;
}
