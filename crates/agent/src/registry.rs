//! The tools the model may call: an explicit registry built from `common::tools` (no
//! discovery), each mapped to the Lambda function that implements it by
//! [`common::invoke::ToolFunctions`] (`tools/<function>/function`, default the function's own
//! name), the map the MCP server uses too.

use common::{Settings, ToolError, invoke::ToolFunctions};

use crate::model::ToolSpec;

/// The tools and the functions behind them.
#[derive(Debug, Clone)]
pub struct Registry {
    /// What the model is told.
    pub specs: Vec<ToolSpec>,
    functions: ToolFunctions,
}

/// Checks what Bedrock would reject: a name outside `[a-zA-Z0-9_-]{1,64}`, an empty
/// description, a schema that is not of type `object`.
pub fn check_spec(spec: &ToolSpec) -> Result<(), ToolError> {
    let valid_name = (1..=64).contains(&spec.name.len())
        && spec
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid_name {
        return Err(ToolError::internal(&format!(
            "tool name {:?} is not [a-zA-Z0-9_-]{{1,64}}",
            spec.name
        )));
    }
    if spec.description.trim().is_empty() {
        return Err(ToolError::internal(&format!(
            "tool {} has no description",
            spec.name
        )));
    }
    if spec.input_schema["type"] != "object" {
        return Err(ToolError::internal(&format!(
            "tool {}'s input schema is not of type object",
            spec.name
        )));
    }
    Ok(())
}

impl Registry {
    /// Every tool of `common::tools::ALL`, each mapped to `tools/<function>/function` or its
    /// default function name.
    pub fn from_settings(settings: &Settings) -> Result<Self, ToolError> {
        let mut specs = Vec::with_capacity(common::tools::ALL.len());
        for tool in common::tools::ALL {
            let parsed = tool.parsed();
            let spec = ToolSpec {
                name: parsed["name"].as_str().unwrap_or_default().to_owned(),
                description: parsed["description"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                input_schema: parsed["input_schema"].clone(),
            };
            check_spec(&spec)?;
            specs.push(spec);
        }
        Ok(Self {
            specs,
            functions: ToolFunctions::from_settings(settings),
        })
    }

    /// The function implementing tool `name`, if it is a tool.
    pub fn function(&self, name: &str) -> Option<&str> {
        self.functions.function(name)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn the_registry_holds_every_tool_with_its_function() {
        let settings = Settings::from_values(HashMap::from([(
            "tools/web-search/function".to_owned(),
            "arn:aws:lambda:us-east-1:123456789012:function:search-prod".to_owned(),
        )]));
        let r = Registry::from_settings(&settings).unwrap();
        let names: Vec<&str> = r.specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "prometheus_alerts",
                "cloudwatch",
                "prometheus_metadata",
                "prometheus_query",
                "prometheus_range_query",
                "eks_info",
                "k8s_info",
                "cloudtrail",
                "runbooks",
                "web_search"
            ]
        );
        assert_eq!(
            r.function("web_search"),
            Some("arn:aws:lambda:us-east-1:123456789012:function:search-prod")
        );
        assert_eq!(r.function("eks_info"), Some("eks-info"));
        assert_eq!(r.function("cloudtrail"), Some("cloudtrail"));
        assert_eq!(r.function("delete_cluster"), None);
    }

    #[test]
    fn what_bedrock_rejects_is_caught() {
        let spec = |name: &str, description: &str, kind: &str| ToolSpec {
            name: name.into(),
            description: description.into(),
            input_schema: serde_json::json!({"type": kind}),
        };
        assert!(check_spec(&spec("ok_name-1", "does things", "object")).is_ok());
        assert!(check_spec(&spec("has space", "d", "object")).is_err());
        assert!(check_spec(&spec(&"n".repeat(65), "d", "object")).is_err());
        assert!(check_spec(&spec("", "d", "object")).is_err());
        assert!(check_spec(&spec("n", "  ", "object")).is_err());
        assert!(check_spec(&spec("n", "d", "array")).is_err());
    }
}
