//! A small check of a `tools/call`'s arguments against the tool's input schema, before the
//! tool's Lambda is invoked: what a client can get wrong about the shape, said in one message
//! a model can act on. The tool itself still checks everything (lengths, patterns, which
//! action takes which field) and answers `INVALID_INPUT` in its own words.
//!
//! Checked, for the top-level properties only (every tool's schema is flat):
//!
//! * every `required` property is present;
//! * no property the schema does not declare, when `additionalProperties` is `false`;
//! * each value's JSON type is one its `type` allows (`integer` is a number without a
//!   fraction);
//! * a string enum holds one of its values in any case (the tools read `FIRING` and
//!   `firing` alike), any other enum an exact value;
//! * `minimum`/`maximum` of numbers and `minLength`/`maxLength` of strings (in characters).
//!
//! `null` for an optional property counts as absent: the tools read it so, and models send it.
//! Every problem is reported, joined with `; `.

use serde_json::{Map, Value};

/// The problems of `arguments` against `schema` (an object schema), or `Ok`.
pub fn check(schema: &Value, arguments: &Map<String, Value>) -> Result<(), String> {
    let empty = Map::new();
    let properties = schema["properties"].as_object().unwrap_or(&empty);
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut problems = Vec::new();
    for name in &required {
        if arguments.get(*name).is_none_or(Value::is_null) {
            problems.push(format!("{name} is required"));
        }
    }
    let closed = schema["additionalProperties"] == false;
    for (name, value) in arguments {
        let Some(property) = properties.get(name) else {
            if closed {
                problems.push(format!(
                    "unknown argument {} (the arguments are {})",
                    cut(name),
                    properties.keys().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
            continue;
        };
        if value.is_null() {
            // Absent for an optional property; a required one was reported above.
            continue;
        }
        if let Some(problem) = check_value(name, property, value) {
            problems.push(problem);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// The problem of one property's value, if any.
fn check_value(name: &str, schema: &Value, value: &Value) -> Option<String> {
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() && !types.iter().any(|t| is_type(value, t)) {
        return Some(format!(
            "{name} must be {}, got {}",
            types
                .iter()
                .map(|t| article(t))
                .collect::<Vec<_>>()
                .join(" or "),
            crate::jsonrpc::kind(value)
        ));
    }
    if let Some(options) = schema["enum"].as_array() {
        let allowed = options.iter().any(|option| match (option, value) {
            (Value::String(o), Value::String(v)) => o.eq_ignore_ascii_case(v),
            (o, v) => o == v,
        });
        if !allowed {
            let names: Vec<String> = options
                .iter()
                .map(|o| o.as_str().map_or_else(|| o.to_string(), str::to_owned))
                .collect();
            return Some(format!(
                "{name} must be one of {}, got {}",
                names.join(", "),
                cut(&value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned))
            ));
        }
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = schema["minimum"].as_f64()
            && n < min
        {
            return Some(format!("{name} must be at least {min}, got {n}"));
        }
        if let Some(max) = schema["maximum"].as_f64()
            && n > max
        {
            return Some(format!("{name} must be at most {max}, got {n}"));
        }
    }
    if let Some(s) = value.as_str() {
        let chars = s.chars().count() as u64;
        if let Some(min) = schema["minLength"].as_u64()
            && chars < min
        {
            return Some(format!(
                "{name} must be at least {min} characters, got {chars}"
            ));
        }
        if let Some(max) = schema["maxLength"].as_u64()
            && chars > max
        {
            return Some(format!(
                "{name} must be at most {max} characters, got {chars}"
            ));
        }
    }
    None
}

fn is_type(value: &Value, kind: &str) -> bool {
    match kind {
        "string" => value.is_string(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "null" => value.is_null(),
        // A type this checker does not know is the tool's to judge.
        _ => true,
    }
}

fn article(kind: &str) -> String {
    match kind {
        "integer" | "array" | "object" => format!("an {kind}"),
        "null" => "null".to_owned(),
        other => format!("a {other}"),
    }
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(100) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "action": {"type": "string", "enum": ["alerts", "rules"]},
                "max_results": {"type": "integer", "minimum": 1, "maximum": 10},
                "start": {"type": ["string", "number"]},
                "query": {"type": "string", "minLength": 1, "maxLength": 5},
                "all": {"type": "boolean"}
            },
            "required": ["action"],
            "additionalProperties": false
        })
    }

    #[test]
    fn what_the_schema_allows_passes() {
        for ok in [
            json!({"action": "alerts"}),
            json!({"action": "RULES", "max_results": 10, "start": "now-1h", "all": true}),
            json!({"action": "alerts", "start": 1_700_000_000, "max_results": 3.0}),
            json!({"action": "alerts", "query": "héllo", "max_results": null}),
        ] {
            assert_eq!(check(&schema(), &args(ok.clone())), Ok(()), "{ok}");
        }
        // Every tool's schema accepts the sample `conforms` builds from it.
        for tool in common::tools::ALL {
            let spec = tool.parsed();
            let required = spec["input_schema"]["required"].clone();
            let mut minimal = Map::new();
            for name in required.as_array().into_iter().flatten() {
                let name = name.as_str().unwrap();
                let p = &spec["input_schema"]["properties"][name];
                let v = p["enum"].get(0).cloned().unwrap_or(json!("up"));
                minimal.insert(name.to_owned(), v);
            }
            assert_eq!(
                check(&spec["input_schema"], &minimal),
                Ok(()),
                "{}",
                tool.name
            );
        }
    }

    #[test]
    fn every_problem_is_named_in_one_message() {
        let e = check(
            &schema(),
            &args(json!({"max_results": 50, "start": true, "colour": "red"})),
        )
        .unwrap_err();
        assert!(e.contains("action is required"), "{e}");
        assert!(e.contains("max_results must be at most 10, got 50"), "{e}");
        assert!(
            e.contains("start must be a string or a number, got a boolean"),
            "{e}"
        );
        assert!(
            e.contains("unknown argument colour (the arguments are action, all"),
            "{e}"
        );
        assert_eq!(e.matches("; ").count(), 3, "{e}");
        assert_eq!(
            check(&schema(), &args(json!({"action": "silences"}))),
            Err("action must be one of alerts, rules, got silences".to_owned())
        );
        assert_eq!(
            check(
                &schema(),
                &args(json!({"action": "alerts", "max_results": 2.5}))
            ),
            Err("max_results must be an integer, got a number".to_owned())
        );
        assert_eq!(
            check(&schema(), &args(json!({"action": "alerts", "query": ""}))),
            Err("query must be at least 1 characters, got 0".to_owned())
        );
        assert_eq!(
            check(&schema(), &args(json!({"action": null}))),
            Err("action is required".to_owned())
        );
    }
}
