//! The tools as `tools/list` gives them, from the schemas the agent hands its model
//! (`crates/common/src/tools/*.json`): one source for both.
//!
//! Each tool is `{name, title, description, inputSchema, annotations}`:
//!
//! * `inputSchema` is the tool's input schema as it is (JSON Schema, `additionalProperties:
//!   false`), so a client sees the limits the function enforces;
//! * `annotations` say what every tool is: read-only (`readOnlyHint: true`, so
//!   `destructiveHint: false`), the same answer for the same question
//!   (`idempotentHint: true`), and closed-world except `web_search`, the one tool that reaches
//!   the open internet (`openWorldHint`);
//! * no `outputSchema`: no tool's result has one fixed shape (every tool has actions or
//!   variants, and a failure answers the error envelope instead), and a declared schema
//!   obliges every result, failures included, to meet it. The result is still given as
//!   `structuredContent` ([`crate::call`]).

use std::sync::OnceLock;

use common::tools::ToolDefinition;
use serde_json::{Value, json};

/// The one tool that reaches outside the account and its clusters.
pub const OPEN_WORLD_TOOLS: [&str; 1] = ["web_search"];

/// Every registered tool's listing entry, parsed once per process.
fn listings() -> &'static [(&'static str, Value)] {
    static LISTINGS: OnceLock<Vec<(&'static str, Value)>> = OnceLock::new();
    LISTINGS.get_or_init(|| {
        common::tools::ALL
            .iter()
            .map(|tool| (tool.name, listing(tool)))
            .collect()
    })
}

/// The `tools/list` entry of `tool`.
pub fn listing(tool: &ToolDefinition) -> Value {
    let spec = tool.parsed();
    json!({
        "name": tool.name,
        "title": spec["title"],
        "description": spec["description"],
        "inputSchema": spec["input_schema"],
        "annotations": {
            "title": spec["title"],
            "readOnlyHint": true,
            "destructiveHint": false,
            "idempotentHint": true,
            "openWorldHint": OPEN_WORLD_TOOLS.contains(&tool.name),
        },
    })
}

/// The entries of `tools`, in their order.
pub fn list(tools: &[ToolDefinition]) -> Vec<Value> {
    tools
        .iter()
        .filter_map(|tool| {
            listings()
                .iter()
                .find(|(name, _)| *name == tool.name)
                .map(|(_, entry)| entry.clone())
        })
        .collect()
}

/// The input schema of `tool` (what [`crate::arguments::check`] checks against).
pub fn input_schema(tool: &ToolDefinition) -> &'static Value {
    listings()
        .iter()
        .find(|(name, _)| *name == tool.name)
        .map_or(&Value::Null, |(_, entry)| &entry["inputSchema"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_is_listed_with_its_schema_title_and_read_only_annotations() {
        let all = list(&common::tools::ALL);
        assert_eq!(all.len(), common::tools::ALL.len());
        for (entry, tool) in all.iter().zip(common::tools::ALL) {
            let spec = tool.parsed();
            assert_eq!(entry["name"], tool.name);
            assert_eq!(entry["description"], spec["description"]);
            assert_eq!(entry["inputSchema"], spec["input_schema"]);
            assert_eq!(entry["inputSchema"]["type"], "object");
            assert!(entry["title"].as_str().is_some_and(|t| !t.is_empty()));
            assert!(entry.get("outputSchema").is_none());
            let a = &entry["annotations"];
            assert_eq!(
                (
                    &a["readOnlyHint"],
                    &a["destructiveHint"],
                    &a["idempotentHint"]
                ),
                (&json!(true), &json!(false), &json!(true)),
                "{}",
                tool.name
            );
            assert_eq!(a["openWorldHint"], tool.name == "web_search");
            assert_eq!(input_schema(&tool), &spec["input_schema"]);
        }
    }
}
