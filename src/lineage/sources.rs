//! stub
use serde::Deserialize;
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SourcesConfig {}
#[derive(Debug, Clone, Deserialize)]
pub enum SourceConfig {}
pub struct ViewDefinition {
    pub name: String,
    pub sql: String,
}
pub struct JobRecord {
    pub query: String,
    pub destination: Option<String>,
    pub user: Option<String>,
}
