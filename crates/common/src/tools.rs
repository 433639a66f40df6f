//! The tools as a model sees them: a name, a description written for the model, and the input
//! JSON Schema, one file per tool in `src/tools/`, plus a short human `title` that MCP
//! clients show (the model is not sent it).
//!
//! One source of truth for two readers: the agent hands these to Bedrock as its tool
//! configuration, and each tool crate's tests check with [`conforms`] that its input type
//! accepts exactly the properties its schema declares, so the two cannot drift apart
//! silently. The schemas carry the limits (lengths, ranges, patterns) the tools enforce, so a
//! model can get a call right the first time.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// One tool: the Lambda that implements it (its binary and default function name) and its
/// specification (`{"name", "description", "input_schema"}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolDefinition {
    /// The tool's name as a model or an MCP client calls it (`web_search`): the `name` of its
    /// specification (a unit test holds them equal).
    pub name: &'static str,
    /// The crate and binary, and the function name unless `tools/<function>/function` says
    /// otherwise.
    pub function: &'static str,
    /// The specification, JSON.
    pub spec: &'static str,
}

/// `web-search`.
pub const WEB_SEARCH: ToolDefinition = ToolDefinition {
    name: "web_search",
    function: "web-search",
    spec: include_str!("tools/web_search.json"),
};
/// `prometheus-query`.
pub const PROMETHEUS_QUERY: ToolDefinition = ToolDefinition {
    name: "prometheus_query",
    function: "prometheus-query",
    spec: include_str!("tools/prometheus_query.json"),
};
/// `prometheus-range-query`.
pub const PROMETHEUS_RANGE_QUERY: ToolDefinition = ToolDefinition {
    name: "prometheus_range_query",
    function: "prometheus-range-query",
    spec: include_str!("tools/prometheus_range_query.json"),
};
/// `prometheus-metadata`.
pub const PROMETHEUS_METADATA: ToolDefinition = ToolDefinition {
    name: "prometheus_metadata",
    function: "prometheus-metadata",
    spec: include_str!("tools/prometheus_metadata.json"),
};
/// `prometheus-alerts`.
pub const PROMETHEUS_ALERTS: ToolDefinition = ToolDefinition {
    name: "prometheus_alerts",
    function: "prometheus-alerts",
    spec: include_str!("tools/prometheus_alerts.json"),
};
/// `eks-info`.
pub const EKS_INFO: ToolDefinition = ToolDefinition {
    name: "eks_info",
    function: "eks-info",
    spec: include_str!("tools/eks_info.json"),
};

/// `k8s-info`.
pub const K8S_INFO: ToolDefinition = ToolDefinition {
    name: "k8s_info",
    function: "k8s-info",
    spec: include_str!("tools/k8s_info.json"),
};

/// `cloudwatch`.
pub const CLOUDWATCH: ToolDefinition = ToolDefinition {
    name: "cloudwatch",
    function: "cloudwatch",
    spec: include_str!("tools/cloudwatch.json"),
};

/// `cloudtrail`.
pub const CLOUDTRAIL: ToolDefinition = ToolDefinition {
    name: "cloudtrail",
    function: "cloudtrail",
    spec: include_str!("tools/cloudtrail.json"),
};

/// `runbooks`.
pub const RUNBOOKS: ToolDefinition = ToolDefinition {
    name: "runbooks",
    function: "runbooks",
    spec: include_str!("tools/runbooks.json"),
};

/// Every tool, in the order the model is told about them.
pub const ALL: [ToolDefinition; 10] = [
    PROMETHEUS_ALERTS,
    CLOUDWATCH,
    PROMETHEUS_METADATA,
    PROMETHEUS_QUERY,
    PROMETHEUS_RANGE_QUERY,
    EKS_INFO,
    K8S_INFO,
    CLOUDTRAIL,
    RUNBOOKS,
    WEB_SEARCH,
];

impl ToolDefinition {
    /// The parsed specification. The files are part of this crate and tested to parse, so a
    /// failure here is a build defect.
    pub fn parsed(&self) -> Value {
        serde_json::from_str(self.spec)
            .unwrap_or_else(|e| unreachable!("tool spec of {} is valid JSON: {e}", self.function))
    }
}

/// Most bytes the tool definitions may take together, minified as the agent sends them
/// (`name`, `description`, `input_schema`): they ride along with every model request, so
/// each byte is paid on every turn of every conversation. Descriptions say when to use a
/// tool and what its fields mean, not everything it can do.
pub const MAX_DEFINITIONS_BYTES: usize = 16 * 1024;

impl ToolDefinition {
    /// The definition as the agent sends it, minified: `{"name", "description",
    /// "input_schema"}`. Its length is what [`MAX_DEFINITIONS_BYTES`] bounds.
    pub fn minified(&self) -> String {
        let spec = self.parsed();
        serde_json::json!({
            "name": spec["name"],
            "description": spec["description"],
            "input_schema": spec["input_schema"],
        })
        .to_string()
    }
}

/// A value a property's schema allows, for [`conforms`]: its first example, else its
/// default, else its first enum value, else one made from its type. A number is preferred
/// when the type allows one, because the string-or-number fields are times and durations,
/// which parse while deserialising and take any small number but not an arbitrary word.
/// Schemas carry examples only where one prevents a misreading, since every byte of them is
/// sent to the model.
fn sample(name: &str, schema: &Value) -> Result<Value, String> {
    if let Some(v) = schema["examples"].get(0) {
        return Ok(v.clone());
    }
    if let Some(v) = schema.get("default") {
        return Ok(v.clone());
    }
    if let Some(v) = schema["enum"].get(0) {
        return Ok(v.clone());
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let number = schema["minimum"].as_i64().unwrap_or(1).max(1);
    if types.contains(&"integer") || types.contains(&"number") {
        return Ok(Value::from(number));
    }
    match types.first().copied() {
        Some("string") => Ok(Value::from("x")),
        Some("boolean") => Ok(Value::Bool(true)),
        Some("object") => Ok(Value::Object(Map::new())),
        Some("array") => Ok(Value::Array(vec![sample(name, &schema["items"])?])),
        _ => Err(format!(
            "property {name} has no example, default, enum or type to make a value from"
        )),
    }
}

/// Checks that `T` (a tool's input type) accepts exactly the properties `tool`'s schema
/// declares: the required ones alone, each optional one added (with a value from
/// `sample`), and rejects a property the schema does not have. `Err` says which property
/// disagrees.
pub fn conforms<T: DeserializeOwned>(tool: &ToolDefinition) -> Result<(), String> {
    let spec = tool.parsed();
    let schema = &spec["input_schema"];
    if schema["type"] != "object" || schema["additionalProperties"] != false {
        return Err("the schema must be an object with additionalProperties: false".into());
    }
    let properties = schema["properties"]
        .as_object()
        .ok_or("the schema has no properties")?;
    let example = |name: &str| sample(name, &properties[name]);
    let mut base = Map::new();
    for name in schema["required"].as_array().into_iter().flatten() {
        let name = name.as_str().ok_or("required names must be strings")?;
        base.insert(name.to_owned(), example(name)?);
    }
    let accepts = |object: &Map<String, Value>| {
        serde_json::from_value::<T>(Value::Object(object.clone())).map_err(|e| e.to_string())
    };
    accepts(&base).map_err(|e| format!("the required properties alone: {e}"))?;
    for name in properties.keys() {
        let mut with = base.clone();
        with.insert(name.clone(), example(name)?);
        accepts(&with).map_err(|e| format!("property {name}: {e}"))?;
    }
    let mut extra = base;
    extra.insert("not_in_the_schema".into(), Value::Bool(true));
    match accepts(&extra) {
        Err(e) if e.contains("unknown field") => Ok(()),
        Err(e) => Err(format!(
            "an undeclared property failed for another reason: {e}"
        )),
        Ok(_) => Err("an undeclared property was accepted".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Input {
        query: String,
        #[serde(default)]
        limit: Option<u32>,
    }

    fn spec(properties: &str, additional: bool) -> ToolDefinition {
        let json = format!(
            r#"{{"name": "t", "description": "d", "input_schema": {{"type": "object", "properties": {{{properties}}}, "required": ["query"], "additionalProperties": {additional}}}}}"#
        );
        ToolDefinition {
            name: "t",
            function: "t",
            spec: Box::leak(json.into_boxed_str()),
        }
    }

    #[test]
    fn conformance_finds_every_kind_of_drift() {
        let query = r#""query": {"type": "string", "examples": ["q"]}"#;
        let limit = r#""limit": {"type": "integer", "examples": [3]}"#;
        assert_eq!(
            conforms::<Input>(&spec(&format!("{query}, {limit}"), false)),
            Ok(())
        );
        // A property the type does not have.
        let renamed = r#""max": {"type": "integer", "examples": [3]}"#;
        let e = conforms::<Input>(&spec(&format!("{query}, {renamed}"), false)).unwrap_err();
        assert!(
            e.contains("property max") && e.contains("unknown field"),
            "{e}"
        );
        // A property of the wrong type.
        let wrong = r#""limit": {"type": "string", "examples": ["three"]}"#;
        let e = conforms::<Input>(&spec(&format!("{query}, {wrong}"), false)).unwrap_err();
        assert!(e.contains("property limit"), "{e}");
        // A schema that would let the model send anything.
        assert!(conforms::<Input>(&spec(query, true)).is_err());
    }

    #[test]
    fn a_property_without_an_example_gets_a_value_from_its_schema() {
        // No examples: the required query takes a made-up string, limit a number.
        let bare = r#""query": {"type": "string"}, "limit": {"type": "integer", "minimum": 2}"#;
        assert_eq!(conforms::<Input>(&spec(bare, false)), Ok(()));
        let wrong = r#""query": {"type": "string"}, "limit": {"type": "boolean"}"#;
        let e = conforms::<Input>(&spec(wrong, false)).unwrap_err();
        assert!(e.contains("property limit"), "{e}");
        for (schema, want) in [
            (
                serde_json::json!({"type": "string", "default": "d"}),
                serde_json::json!("d"),
            ),
            (
                serde_json::json!({"type": "string", "enum": ["a", "b"]}),
                serde_json::json!("a"),
            ),
            (
                serde_json::json!({"type": ["string", "number"]}),
                serde_json::json!(1),
            ),
            (
                serde_json::json!({"type": "integer", "minimum": 1024}),
                serde_json::json!(1024),
            ),
            (
                serde_json::json!({"type": "array", "items": {"type": "string"}}),
                serde_json::json!(["x"]),
            ),
            (serde_json::json!({"type": "object"}), serde_json::json!({})),
            (
                serde_json::json!({"type": "boolean"}),
                serde_json::json!(true),
            ),
        ] {
            assert_eq!(sample("p", &schema), Ok(want), "{schema}");
        }
        assert!(sample("p", &serde_json::json!({"description": "d"})).is_err());
    }

    #[test]
    fn every_definition_together_fits_the_byte_budget() {
        let sizes: Vec<(&str, usize)> = ALL
            .iter()
            .map(|t| (t.function, t.minified().len()))
            .collect();
        let total: usize = sizes.iter().map(|(_, n)| n).sum();
        assert!(
            total < MAX_DEFINITIONS_BYTES,
            "the tool definitions take {total} bytes minified, over the budget of {MAX_DEFINITIONS_BYTES} (they are sent with every model request; say when to use a tool and what its fields mean, not everything it does): {sizes:?}"
        );
    }

    #[test]
    fn every_spec_is_a_valid_bedrock_tool() {
        let mut names = std::collections::HashSet::new();
        for tool in ALL {
            let spec = tool.parsed();
            let name = spec["name"].as_str().unwrap();
            assert!(
                !name.is_empty()
                    && name.len() <= 64
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
                "{name}"
            );
            assert_eq!(name.replace('_', "-"), tool.function);
            assert_eq!(name, tool.name);
            assert!(names.insert(name.to_owned()));
            assert!(spec["description"].as_str().unwrap().len() > 80, "{name}");
            // The human title an MCP client shows (not sent to the model).
            let title = spec["title"].as_str().unwrap_or_default();
            assert!((3..=60).contains(&title.len()), "{name}: title {title:?}");
            assert_eq!(spec["input_schema"]["type"], "object");
            for (prop, schema) in spec["input_schema"]["properties"].as_object().unwrap() {
                assert!(
                    schema["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{name}.{prop} has no description"
                );
            }
        }
    }
}
