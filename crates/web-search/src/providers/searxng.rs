//! A self-hosted SearXNG (`GET /search?format=json`). `websearch/url` is required (there is
//! no public default); `websearch/api_key`, if set, is sent as `Authorization: Bearer` for an
//! instance behind an authenticating proxy.
//!
//! SearXNG answers 403 when the instance does not enable the JSON format; the error says so.

use crate::provider::{
    ContentAnswer, Hit, KeyUse, Query, SafeSearch, SearchProvider, json, secret_header,
};
use common::{ErrorCode, Secret, ToolError};

/// SearXNG metasearch.
#[derive(Debug, Clone, Copy)]
pub struct SearXng;

impl SearchProvider for SearXng {
    fn name(&self) -> &'static str {
        "searxng"
    }

    fn default_base_url(&self) -> Option<&'static str> {
        None
    }

    fn key_use(&self) -> KeyUse {
        KeyUse::Optional
    }

    fn request(
        &self,
        http: &reqwest::Client,
        base: &str,
        key: Option<&Secret>,
        query: &Query,
    ) -> Result<reqwest::RequestBuilder, ToolError> {
        let language = match (query.language(), query.country()) {
            (Some(language), Some(country)) => {
                format!("{language}-{}", country.to_ascii_uppercase())
            }
            _ => "all".to_owned(),
        };
        let mut params = vec![
            ("q", query.text.as_str()),
            ("format", "json"),
            ("pageno", "1"),
            ("language", language.as_str()),
            (
                "safesearch",
                match query.safesearch {
                    SafeSearch::Off => "0",
                    SafeSearch::Moderate => "1",
                    SafeSearch::Strict => "2",
                },
            ),
        ];
        if let Some(limit) = query.timelimit {
            params.push(("time_range", limit.word()));
        }
        let mut request = http
            .get(format!(
                "{base}/search?{}",
                common::http::form_encode(params)
            ))
            .header(http::header::ACCEPT, "application/json");
        if let Some(key) = key {
            request = request.header(
                http::header::AUTHORIZATION,
                secret_header(&format!("Bearer {}", key.expose()))?,
            );
        }
        Ok(request)
    }

    fn parse(&self, status: u16, body: &[u8]) -> Result<Vec<Hit>, ToolError> {
        if status == 403 {
            return Err(ToolError::new(
                ErrorCode::AccessDenied,
                "SearXNG answered HTTP 403: enable the json format (search.formats in settings.yml) or check websearch/api_key",
            ));
        }
        Ok(json::<ContentAnswer>("SearXNG", status, body)?.hits())
    }
}
