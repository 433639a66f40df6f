//! The MCP server's configuration (docs/contract.md §3), read through `common::config` (SSM
//! under `APP_CONFIG_PATH`, cached, environment overrides such as `MCP_TOOLS`).
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `mcp/tools` | every tool (`*`, the template's value) | comma-separated tool names to expose (`prometheus_query, eks_info`); a name that is not a tool is `CONFIG_ERROR` naming it |
//! | `mcp/allowed_origins` | none | comma-separated `Origin` values a browser may call from (`https://console.example.com`); a request with any other `Origin` is refused |
//! | `mcp/jwt_issuer` | unset | the OAuth authorization server (the HTTP API's JWT issuer): when set, `/.well-known/oauth-protected-resource` names it |
//! | `mcp/resource_url` | derived from the request's host | the MCP endpoint's canonical URL for that document |
//! | `tools/<function>/function` | the crate's name | the Lambda function behind each tool, as the agent reads it |
//!
//! Nothing is read until a request needs it: `initialize`, `server/discover` and `ping`
//! without an `Origin` header never touch the configuration.

use common::{Settings, ToolError, invoke::ToolFunctions, tools::ToolDefinition};

/// `mcp/tools`.
pub const TOOLS_KEY: &str = "mcp/tools";
/// `mcp/allowed_origins`.
pub const ALLOWED_ORIGINS_KEY: &str = "mcp/allowed_origins";
/// `mcp/jwt_issuer`.
pub const JWT_ISSUER_KEY: &str = "mcp/jwt_issuer";
/// `mcp/resource_url`.
pub const RESOURCE_URL_KEY: &str = "mcp/resource_url";

/// What one request may use of the configuration.
#[derive(Debug, Clone)]
pub struct McpSettings {
    /// The exposed tools, in `common::tools::ALL`'s order (a deterministic `tools/list`).
    pub tools: Vec<ToolDefinition>,
    /// The function behind every registered tool.
    pub functions: ToolFunctions,
    /// `Origin` values allowed (exact, compared without regard to case).
    pub allowed_origins: Vec<String>,
    /// The JWT issuer to name as the authorization server.
    pub jwt_issuer: Option<String>,
    /// The canonical URL of the MCP endpoint.
    pub resource_url: Option<String>,
}

impl McpSettings {
    /// Reads and checks the keys of the module docs.
    pub fn from_settings(settings: &Settings) -> Result<Self, ToolError> {
        Ok(Self {
            tools: exposed(settings.get(TOOLS_KEY).as_deref())?,
            functions: ToolFunctions::from_settings(settings),
            allowed_origins: list(settings.get(ALLOWED_ORIGINS_KEY).as_deref())
                .map(str::to_owned)
                .collect(),
            jwt_issuer: url(settings, JWT_ISSUER_KEY)?,
            resource_url: url(settings, RESOURCE_URL_KEY)?,
        })
    }

    /// The exposed tool called `name`, if any.
    pub fn tool(&self, name: &str) -> Option<&ToolDefinition> {
        self.tools.iter().find(|t| t.name == name)
    }
}

/// The non-empty, trimmed items of a comma-separated list.
fn list(value: Option<&str>) -> impl Iterator<Item = &str> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The tools `mcp/tools` names (all of them when it is `*`, unset or blank: SSM cannot hold
/// an empty value).
fn exposed(value: Option<&str>) -> Result<Vec<ToolDefinition>, ToolError> {
    let names: Vec<&str> = list(value).collect();
    if names.is_empty() || names == ["*"] {
        return Ok(common::tools::ALL.to_vec());
    }
    if let Some(unknown) = names
        .iter()
        .find(|n| !common::tools::ALL.iter().any(|t| t.name == **n))
    {
        let known: Vec<&str> = common::tools::ALL.iter().map(|t| t.name).collect();
        return Err(ToolError::config(format!(
            "{TOOLS_KEY} names `{}`, which is not a tool; the tools are {}",
            unknown.chars().take(64).collect::<String>(),
            known.join(", ")
        )));
    }
    Ok(common::tools::ALL
        .iter()
        .filter(|t| names.contains(&t.name))
        .copied()
        .collect())
}

/// An optional absolute `http(s)://` URL without a fragment, trimmed of a trailing `/`.
fn url(settings: &Settings, key: &str) -> Result<Option<String>, ToolError> {
    let Some(value) = settings.get(key) else {
        return Ok(None);
    };
    let value = value.trim().trim_end_matches('/');
    if value.is_empty() {
        return Ok(None);
    }
    let scheme_ok = value.starts_with("https://") || value.starts_with("http://");
    if !scheme_ok || value.contains('#') || value.chars().any(char::is_whitespace) {
        return Err(ToolError::config(format!(
            "{key} must be an absolute https:// URL without a fragment"
        )));
    }
    Ok(Some(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use common::ErrorCode;

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<McpSettings, ToolError> {
        McpSettings::from_settings(&Settings::from_values(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<HashMap<_, _>>(),
        ))
    }

    #[test]
    fn every_tool_is_exposed_by_default_in_the_registry_order() {
        let s = settings(&[]).unwrap();
        let names: Vec<&str> = s.tools.iter().map(|t| t.name).collect();
        let all: Vec<&str> = common::tools::ALL.iter().map(|t| t.name).collect();
        assert_eq!(names, all);
        assert!(s.allowed_origins.is_empty() && s.jwt_issuer.is_none());
        assert_eq!(settings(&[(TOOLS_KEY, " , ")]).unwrap().tools.len(), 10);
        assert_eq!(settings(&[(TOOLS_KEY, " * ")]).unwrap().tools.len(), 10);
    }

    #[test]
    fn mcp_tools_narrows_the_list_and_names_a_tool_that_is_not_one() {
        let s = settings(&[(TOOLS_KEY, "web_search, prometheus_query,web_search")]).unwrap();
        let names: Vec<&str> = s.tools.iter().map(|t| t.name).collect();
        assert_eq!(names, ["prometheus_query", "web_search"]);
        assert!(s.tool("web_search").is_some() && s.tool("eks_info").is_none());
        // The function map still knows every tool: exposure is checked before it is asked.
        assert_eq!(s.functions.function("eks_info"), Some("eks-info"));
        let e = settings(&[(TOOLS_KEY, "prometheus_query, delete_cluster")]).unwrap_err();
        assert_eq!(e.code, ErrorCode::ConfigError);
        assert!(
            e.message.contains("`delete_cluster`") && e.message.contains("web_search"),
            "{e}"
        );
    }

    #[test]
    fn urls_and_origins_are_read_and_checked() {
        let s = settings(&[
            (
                ALLOWED_ORIGINS_KEY,
                "https://a.example.com, https://b.example.com ,",
            ),
            (
                JWT_ISSUER_KEY,
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/",
            ),
            (RESOURCE_URL_KEY, "https://mcp.example.com/mcp"),
        ])
        .unwrap();
        assert_eq!(
            s.allowed_origins,
            ["https://a.example.com", "https://b.example.com"]
        );
        assert_eq!(
            s.jwt_issuer.as_deref(),
            Some("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc")
        );
        assert_eq!(
            s.resource_url.as_deref(),
            Some("https://mcp.example.com/mcp")
        );
        for bad in ["cognito", "https://x#frag", "ftp://x"] {
            let e = settings(&[(JWT_ISSUER_KEY, bad)]).unwrap_err();
            assert_eq!(e.code, ErrorCode::ConfigError);
            assert!(e.message.starts_with(JWT_ISSUER_KEY) && !e.message.contains(bad));
        }
    }
}
