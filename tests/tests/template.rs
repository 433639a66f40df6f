//! `template.yaml` against the workspace: every Lambda crate is deployed, with its binary,
//! the shared runtime settings, an API route, alarms and a full set of sample events; every
//! IAM statement is scoped to resources, with the `*`s AWS leaves no choice about listed
//! here. The template is read by cfn-lint's own CloudFormation YAML loader (the short forms
//! `!Ref`, `!Sub`, `!If` become their `Ref`/`Fn::*` objects), so what is checked is what
//! CloudFormation reads.

use std::{
    collections::{BTreeMap, BTreeSet},
    process::Command,
};

use integration_tests::{venv, workspace_root};
use serde_json::{Value, json};

/// The JSON the venv's Python prints for `expression`, with the file at `path` (from the
/// workspace root) as `sys.argv[1]`.
fn python_json(expression: &str, path: &str) -> Value {
    let script = format!(
        "import json, sys, tomllib; from cfnlint.decode import cfn_yaml; print(json.dumps({expression}))"
    );
    let out = Command::new(venv().unwrap().join("bin/python"))
        .args(["-c", &script])
        .arg(workspace_root().join(path))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn template() -> Value {
    python_json("cfn_yaml.load(sys.argv[1])", "template.yaml")
}

/// The workspace's Lambda crates: those with a `src/main.rs`.
fn lambda_crates() -> BTreeSet<String> {
    std::fs::read_dir(workspace_root().join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("src/main.rs").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// `binary → logical id` of the template's functions.
fn functions(t: &Value) -> BTreeMap<String, String> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(id, r)| {
            assert_eq!(r["Metadata"]["BuildMethod"], "rust-cargolambda", "{id}");
            assert_eq!(r["Properties"]["CodeUri"], ".", "{id}");
            let binary = r["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_else(|| panic!("{id} names no binary"));
            (binary.to_owned(), id.clone())
        })
        .collect()
}

/// The resources of `kind` whose JSON mentions `needle`.
fn resources_mentioning<'a>(t: &'a Value, kind: &str, needle: &Value) -> Vec<&'a Value> {
    fn mentions(v: &Value, needle: &Value) -> bool {
        v == needle
            || match v {
                Value::Array(a) => a.iter().any(|x| mentions(x, needle)),
                Value::Object(o) => o.values().any(|x| mentions(x, needle)),
                _ => false,
            }
    }
    t["Resources"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == kind && mentions(r, needle))
        .collect()
}

#[test]
fn every_lambda_crate_is_deployed_with_its_settings_route_alarms_and_events() {
    let t = template();
    let crates = lambda_crates();
    let functions = functions(&t);
    assert_eq!(
        crates,
        functions.keys().cloned().collect::<BTreeSet<_>>(),
        "Lambda crates vs template functions"
    );

    let globals = &t["Globals"]["Function"];
    assert_eq!(
        (
            &globals["Runtime"],
            &globals["Architectures"],
            &globals["Handler"],
            &globals["Tracing"],
            &globals["LoggingConfig"]["LogFormat"],
            &globals["MemorySize"],
        ),
        (
            &json!("provided.al2023"),
            &json!(["arm64"]),
            &json!("bootstrap"),
            &json!("Active"),
            &json!("JSON"),
            &json!(128),
        )
    );
    assert!(
        globals["Environment"]["Variables"]["APP_CONFIG_PATH"].is_object(),
        "APP_CONFIG_PATH"
    );

    let expected_events: BTreeSet<&str> = [
        "direct.json",
        "apigw-rest.json",
        "apigw-http.json",
        "function-url.json",
        "agentcore.json",
        "agentcore-client-context.json",
    ]
    .into();
    for (binary, id) in &functions {
        let properties = &t["Resources"][id]["Properties"];
        let timeout = properties["Timeout"]
            .as_u64()
            .or(globals["Timeout"].as_u64())
            .unwrap();
        assert!((1..=900).contains(&timeout), "{id} timeout {timeout}");

        // A route in the API, behind IAM or the JWT authorizer, never open.
        let arn = json!({"Fn::GetAtt": [id, "Arn"]});
        let integrations = resources_mentioning(&t, "AWS::ApiGatewayV2::Integration", &arn);
        assert_eq!(integrations.len(), 1, "{id}: one API integration");
        let routes: Vec<&Value> = t["Resources"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, r)| r["Type"] == "AWS::ApiGatewayV2::Route")
            .filter(|(_, r)| {
                r["Properties"]["Target"]["Fn::Sub"]
                    .as_str()
                    .is_some_and(|s| {
                        s == format!(
                            "integrations/${{{}}}",
                            id.replace("Function", "Integration")
                        )
                    })
            })
            .map(|(_, r)| r)
            .collect();
        assert_eq!(routes.len(), 1, "{id}: one route");
        assert_eq!(
            routes[0]["Properties"]["AuthorizationType"],
            json!({"Fn::If": ["UseJwt", "JWT", "AWS_IAM"]}),
            "{id}"
        );
        // The HTTP API sample event is the one this route sends.
        let sample = integration_tests::sample_event(binary, "apigw-http.json");
        assert_eq!(
            routes[0]["Properties"]["RouteKey"], sample["routeKey"],
            "{id}: events/{binary}/apigw-http.json"
        );
        let function_ref = json!({"Ref": id});
        assert_eq!(
            resources_mentioning(&t, "AWS::Lambda::Permission", &function_ref).len(),
            1,
            "{id}: API Gateway may invoke it"
        );

        // Alarms: errors, throttles, p99 duration.
        let metrics: BTreeSet<String> =
            resources_mentioning(&t, "AWS::CloudWatch::Alarm", &function_ref)
                .iter()
                .map(|a| a["Properties"]["MetricName"].as_str().unwrap().to_owned())
                .collect();
        assert_eq!(
            metrics,
            ["Duration", "Errors", "Throttles"]
                .map(str::to_owned)
                .into(),
            "{id}"
        );

        // Sample events for every entry shape; the tests of each function invoke them all.
        let dir = workspace_root().join("events").join(binary);
        let files: BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let mut expected: BTreeSet<String> =
            expected_events.iter().map(|s| (*s).to_owned()).collect();
        if binary == "agent" {
            expected
                .extend(["function-url-page.json", "function-url-stream.json"].map(str::to_owned));
        }
        assert_eq!(files, expected, "events/{binary}");
        for file in &files {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            serde_json::from_str::<Value>(&text)
                .unwrap_or_else(|e| panic!("events/{binary}/{file}: {e}"));
        }
    }

    let agent = &t["Resources"][&functions["agent"]]["Properties"];
    assert_eq!(
        agent["FunctionUrlConfig"],
        json!({"AuthType": "AWS_IAM", "InvokeMode": "RESPONSE_STREAM"})
    );
}

/// An IAM statement with the parts the checks need.
#[derive(Debug)]
struct Statement {
    owner: String,
    actions: Vec<String>,
    resources: Vec<Value>,
    condition: Value,
}

/// Every branch of an `Fn::If`, without `AWS::NoValue`.
fn branches(v: &Value) -> Vec<&Value> {
    match v.get("Fn::If").and_then(Value::as_array) {
        Some(parts) => parts[1..].iter().flat_map(branches).collect(),
        None if v == &json!({"Ref": "AWS::NoValue"}) => vec![],
        None => vec![v],
    }
}

fn one_or_many(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

fn statements(t: &Value) -> Vec<Statement> {
    let mut documents: Vec<(String, &Value)> = Vec::new();
    for (id, r) in t["Resources"].as_object().unwrap() {
        match r["Type"].as_str() {
            Some("AWS::IAM::ManagedPolicy") => {
                documents.push((id.clone(), &r["Properties"]["PolicyDocument"]));
            }
            Some("AWS::IAM::Role" | "AWS::IAM::Policy") => {
                panic!("{id}: check this resource's policies here too");
            }
            Some("AWS::Serverless::Function") => {
                for policy in r["Properties"]["Policies"].as_array().into_iter().flatten() {
                    for p in branches(policy) {
                        if p.get("Statement").is_some() {
                            documents.push((id.clone(), p));
                        } else {
                            // The only other form allowed: a reference to a policy above.
                            assert!(p.get("Ref").is_some(), "{id}: policy {p}");
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (owner, document) in documents {
        for statement in document["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(branches)
        {
            assert_eq!(statement["Effect"], "Allow", "{owner}: {statement}");
            assert!(statement.get("NotAction").is_none() && statement.get("NotResource").is_none());
            out.push(Statement {
                owner: owner.clone(),
                actions: one_or_many(&statement["Action"])
                    .iter()
                    .map(|a| a.as_str().unwrap().to_owned())
                    .collect(),
                resources: one_or_many(&statement["Resource"]),
                condition: statement["Condition"].clone(),
            });
        }
    }
    out
}

#[test]
fn every_policy_statement_is_scoped_but_where_iam_allows_only_star() {
    let all = statements(&template());
    assert!(all.len() >= 10, "{all:?}");
    let mut summary = Vec::new();
    for s in &all {
        for action in &s.actions {
            let (service, name) = action.split_once(':').unwrap();
            assert!(
                !service.is_empty() && !name.contains('*'),
                "{}: action {action} is a wildcard",
                s.owner
            );
        }
        let star = s.resources.iter().any(|r| r == "*");
        if star {
            // The only ones: ListClusters, Logs Insights' StopQuery (scoped by its query id),
            // CloudWatch's alarm and metric reads and CloudTrail's LookupEvents have no
            // resource type in IAM, and the key behind SSM's SecureStrings (aws/ssm) has no
            // ARN known in advance, so Decrypt is limited to calls SSM makes for the function.
            let allowed = s.actions == ["eks:ListClusters"]
                || s.actions == ["logs:StopQuery"]
                || s.actions
                    == [
                        "cloudwatch:DescribeAlarms",
                        "cloudwatch:DescribeAlarmHistory",
                        "cloudwatch:GetMetricData",
                        "cloudwatch:ListMetrics",
                    ]
                || s.actions == ["cloudtrail:LookupEvents"]
                || (s.actions == ["kms:Decrypt"]
                    && s.condition["StringEquals"]["kms:ViaService"].is_object());
            assert!(allowed, "{}: {:?} on *", s.owner, s.actions);
            assert_eq!(s.resources.len(), 1);
        }
        summary.push(format!(
            "{:<28} {:<60} {}",
            s.owner,
            s.actions.join(", "),
            if star { "* (see above)" } else { "scoped" }
        ));
    }
    println!("{}", summary.join("\n"));
}

/// Sessions, token counts and in-flight leases are all items of the one sessions table, read
/// and written by key: the agent needs three DynamoDB actions on it and nothing else, and the
/// budget parameters reach the agent only when set.
#[test]
fn the_agent_reaches_only_its_table_with_three_item_actions() {
    let t = template();
    let dynamodb: Vec<Statement> = statements(&t)
        .into_iter()
        .filter(|s| s.actions.iter().any(|a| a.starts_with("dynamodb:")))
        .collect();
    assert_eq!(dynamodb.len(), 1, "{dynamodb:?}");
    assert_eq!(dynamodb[0].owner, "AgentFunction");
    assert_eq!(
        dynamodb[0].actions,
        [
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem"
        ]
    );
    assert_eq!(
        dynamodb[0].resources,
        [json!({"Fn::GetAtt": ["SessionsTable", "Arn"]})]
    );
    let env = &t["Resources"]["AgentFunction"]["Properties"]["Environment"]["Variables"];
    for (variable, parameter, condition) in [
        (
            "AGENT_DAILY_TOKEN_BUDGET",
            "DailyTokenBudget",
            "HasDailyTokenBudget",
        ),
        (
            "AGENT_MAX_CONCURRENT_PER_CALLER",
            "MaxConcurrentPerCaller",
            "HasMaxConcurrentPerCaller",
        ),
        (
            "MODEL_PRICE_INPUT_PER_MTOK",
            "ModelPriceInputPerMtok",
            "HasPriceInput",
        ),
        (
            "MODEL_PRICE_OUTPUT_PER_MTOK",
            "ModelPriceOutputPerMtok",
            "HasPriceOutput",
        ),
        (
            "MODEL_PRICE_CACHE_READ_PER_MTOK",
            "ModelPriceCacheReadPerMtok",
            "HasPriceCacheRead",
        ),
        (
            "MODEL_PRICE_CACHE_WRITE_PER_MTOK",
            "ModelPriceCacheWritePerMtok",
            "HasPriceCacheWrite",
        ),
    ] {
        assert_eq!(
            env[variable],
            json!({"Fn::If": [condition, {"Ref": parameter}, {"Ref": "AWS::NoValue"}]}),
            "{variable}"
        );
        assert!(t["Parameters"][parameter].is_object(), "{parameter}");
    }
}

#[test]
fn samconfig_has_a_default_and_a_prod_environment() {
    let config = python_json("tomllib.load(open(sys.argv[1], 'rb'))", "samconfig.toml");
    for (env, name) in [("default", "dev"), ("prod", "prod")] {
        let deploy = &config[env]["deploy"]["parameters"];
        assert!(
            deploy["parameter_overrides"]
                .as_str()
                .is_some_and(|o| o.contains(&format!("Environment={name}"))),
            "{env}: {deploy}"
        );
        assert_eq!(deploy["capabilities"], "CAPABILITY_IAM", "{env}");
        assert_eq!(
            config[env]["build"]["parameters"]["beta_features"], true,
            "{env}"
        );
        assert!(
            config[env]["global"]["parameters"]["stack_name"].is_string(),
            "{env}"
        );
    }
}
