//! Tavily (`POST /search`, JSON), key as `Authorization: Bearer`.
//!
//! Tavily has no region or safe-search parameter: those inputs are accepted (the contract is
//! the same for every provider) and do not change Tavily's answer; `timelimit` maps to
//! `time_range`.

use crate::provider::{ContentAnswer, Hit, KeyUse, Query, SearchProvider, json, secret_header};
use common::{Secret, ToolError};

/// Tavily search.
#[derive(Debug, Clone, Copy)]
pub struct Tavily;

impl SearchProvider for Tavily {
    fn name(&self) -> &'static str {
        "tavily"
    }

    fn default_base_url(&self) -> Option<&'static str> {
        Some("https://api.tavily.com")
    }

    fn key_use(&self) -> KeyUse {
        KeyUse::Required
    }

    fn request(
        &self,
        http: &reqwest::Client,
        base: &str,
        key: Option<&Secret>,
        query: &Query,
    ) -> Result<reqwest::RequestBuilder, ToolError> {
        let mut body = serde_json::json!({
            "query": query.text,
            "max_results": query.max_results,
            "search_depth": "basic",
            "include_answer": false,
            "include_raw_content": false,
        });
        if let Some(limit) = query.timelimit {
            body["time_range"] = limit.word().into();
        }
        let auth = secret_header(&format!(
            "Bearer {}",
            key.map(Secret::expose).unwrap_or_default()
        ))?;
        Ok(http
            .post(format!("{base}/search"))
            .header(http::header::AUTHORIZATION, auth)
            .json(&body))
    }

    fn parse(&self, status: u16, body: &[u8]) -> Result<Vec<Hit>, ToolError> {
        Ok(json::<ContentAnswer>("Tavily", status, body)?.hits())
    }
}
