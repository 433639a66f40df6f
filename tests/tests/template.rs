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

/// The workspace's Lambda crates: those with a `src/main.rs`, but the binaries that are not
/// Lambdas (`integration_tests::NOT_LAMBDAS`: the terminal client runs on an operator's
/// machine, so it has no function in the template).
fn lambda_crates() -> BTreeSet<String> {
    std::fs::read_dir(workspace_root().join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("src/main.rs").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|name| !integration_tests::NOT_LAMBDAS.contains(&name.as_str()))
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
        // One route behind the authorizer; the only open ones are the MCP server's OAuth
        // protected resource metadata, which a client reads before it has a token.
        let (authorized, open): (Vec<&Value>, Vec<&Value>) = routes.iter().partition(|r| {
            r["Properties"]["AuthorizationType"] == json!({"Fn::If": ["UseJwt", "JWT", "AWS_IAM"]})
        });
        assert_eq!(authorized.len(), 1, "{id}: one authorized route");
        for route in &open {
            assert_eq!(route["Properties"]["AuthorizationType"], "NONE", "{id}");
            let key = route["Properties"]["RouteKey"].as_str().unwrap();
            assert!(
                binary == "mcp-server"
                    && key.starts_with("GET /.well-known/oauth-protected-resource"),
                "{id}: open route {key}"
            );
        }
        // The HTTP API sample event is the one this route sends.
        let sample = integration_tests::sample_event(binary, "apigw-http.json");
        assert_eq!(
            authorized[0]["Properties"]["RouteKey"], sample["routeKey"],
            "{id}: events/{binary}/apigw-http.json"
        );
        let function_ref = json!({"Ref": id});
        assert_eq!(
            resources_mentioning(&t, "AWS::Lambda::Permission", &function_ref).len(),
            1 + usize::from(!open.is_empty()),
            "{id}: API Gateway may invoke it (the open routes through their own permission)"
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
        if binary == "mcp-server" {
            // JSON-RPC in every shape, a tools/call through the Function URL, and the metadata
            // document; no AgentCore events: it is not a tool (tests/mcp.rs sends them all).
            expected = [
                "direct.json",
                "apigw-rest.json",
                "apigw-http.json",
                "apigw-http-metadata.json",
                "function-url.json",
                "function-url-call.json",
            ]
            .map(str::to_owned)
            .into();
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
    let mcp = &t["Resources"][&functions["mcp-server"]]["Properties"];
    assert_eq!(
        mcp["FunctionUrlConfig"],
        json!({"AuthType": "AWS_IAM", "InvokeMode": "BUFFERED"})
    );
}

/// The agent and the MCP server may invoke exactly the tool functions, each told which
/// function is which tool (`TOOLS_<FUNCTION>_FUNCTION`); the MCP server learns the JWT issuer
/// only with JWT auth, and `mcp/tools` has its default.
#[test]
fn the_callers_of_tools_invoke_exactly_the_tool_functions() {
    let t = template();
    let ids = functions(&t);
    let tools: BTreeSet<String> = common::tools::ALL
        .iter()
        .map(|tool| json!({"Fn::GetAtt": [ids[tool.function], "Arn"]}).to_string())
        .collect();
    let all = statements(&t);
    for caller in integration_tests::NON_TOOL_LAMBDAS {
        let id = &ids[caller];
        let invoked: BTreeSet<String> = all
            .iter()
            .filter(|s| &s.owner == id && s.actions.iter().any(|a| a == "lambda:InvokeFunction"))
            .flat_map(|s| {
                assert_eq!(s.actions, ["lambda:InvokeFunction"], "{caller}");
                s.resources.iter().map(Value::to_string)
            })
            .collect();
        assert_eq!(invoked, tools, "{caller} invokes exactly the tools");
        let env = &t["Resources"][id]["Properties"]["Environment"]["Variables"];
        for tool in common::tools::ALL {
            let variable = common::config::env_name(&format!("tools/{}/function", tool.function));
            assert_eq!(
                env[&variable],
                json!({"Ref": ids[tool.function]}),
                "{caller}: {variable}"
            );
        }
    }
    let nobody_else: Vec<&Statement> = all
        .iter()
        .filter(|s| s.actions.iter().any(|a| a.starts_with("lambda:")))
        .filter(|s| {
            !integration_tests::NON_TOOL_LAMBDAS
                .iter()
                .any(|c| ids[*c] == s.owner)
        })
        // The optional AgentCore Gateway's role: its own test holds it to the tools.
        .filter(|s| s.owner != "AgentCoreGatewayRole")
        .collect();
    assert!(nobody_else.is_empty(), "{nobody_else:?}");
    let env = &t["Resources"][&ids["mcp-server"]]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        env["MCP_JWT_ISSUER"],
        json!({"Fn::If": ["UseJwt", {"Ref": "JwtIssuer"}, {"Ref": "AWS::NoValue"}]})
    );
    let parameter = t["Resources"]
        .as_object()
        .unwrap()
        .values()
        .find(|r| {
            r["Type"] == "AWS::SSM::Parameter"
                && r["Properties"]["Name"]["Fn::Sub"]
                    .as_str()
                    .is_some_and(|n| n.ends_with("/mcp/tools"))
        })
        .expect("an mcp/tools parameter");
    assert_eq!(parameter["Properties"]["Value"], "*");
    assert!(
        t["Outputs"]["McpFunctionUrl"]["Value"]["Fn::GetAtt"][0] == "McpServerFunctionUrl"
            && t["Outputs"]["McpApiUrl"]["Value"]["Fn::Sub"]
                .as_str()
                .is_some_and(|u| u.ends_with("/mcp")),
        "the MCP outputs"
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
            Some("AWS::IAM::Role") => {
                // A role's trust policy says who may assume it; its permissions are in its
                // inline policies, checked like every other statement.
                for policy in r["Properties"]["Policies"].as_array().into_iter().flatten() {
                    documents.push((id.clone(), &policy["PolicyDocument"]));
                }
                assert!(
                    r["Properties"].get("ManagedPolicyArns").is_none(),
                    "{id}: a managed policy's statements cannot be checked here"
                );
            }
            Some("AWS::IAM::Policy") => {
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

/// The EMF records the functions write in the `DevOpsAgent` namespace, as CloudWatch tells
/// metrics apart: by name and exact dimension set (a record declares one set, all of its
/// dimensions: `common::telemetry::Metrics`). Checked against the sources both ways, so a
/// metric or dimension renamed, added or removed there fails the dashboard test until this
/// list, and the dashboard, follow.
const EMF_RECORDS: &[(&str, &[&str], &[&str])] = &[
    // Every function, every invocation (common::event::report).
    (
        "crates/common/src/event.rs",
        &["Function"],
        &["Invocations", "Errors", "Duration"],
    ),
    // The agent, per answered question (CostUsd only when the model's prices are set).
    (
        "crates/agent/src/agent.rs",
        &["Function"],
        &[
            "Questions",
            "CostUsd",
            "Cycles",
            "ToolCalls",
            "ToolErrors",
            "InputTokens",
            "OutputTokens",
            "CacheReadInputTokens",
            "Latency",
        ],
    ),
    // The agent, per failed question: the same record (Questions) with ErrorCode added.
    (
        "crates/agent/src/agent.rs",
        &["Function", "ErrorCode"],
        &["Questions", "Errors", "Latency"],
    ),
    // The agent, per tool call.
    (
        "crates/agent/src/tool_loop.rs",
        &["Function", "Tool", "Status"],
        &["ToolCalls", "ToolDuration"],
    ),
];

/// The string literals passed first to `.{method}(` in `source`.
fn first_string_args(source: &str, method: &str) -> BTreeSet<String> {
    let call = format!(".{method}(");
    source
        .match_indices(&call)
        .filter_map(|(at, _)| {
            let rest = source[at + call.len()..].trim_start().strip_prefix('"')?;
            Some(rest[..rest.find('"')?].to_owned())
        })
        .collect()
}

/// The `.rs` files under `dir`, recursively.
fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// `EMF_RECORDS` is what the sources write: in every file that builds a `Metrics` record
/// (but `common::telemetry`, the writer, with its doc example and unit test), the namespace
/// is `DevOpsAgent` and the metric and dimension names are those the list gives that file.
#[test]
fn the_emf_record_list_is_what_the_sources_write() {
    let root = workspace_root();
    let mut seen = BTreeSet::new();
    for path in rust_files(&root.join("crates")) {
        let relative = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let source = std::fs::read_to_string(&path).unwrap();
        if relative == "crates/common/src/telemetry.rs" || !source.contains("Metrics::new(") {
            continue;
        }
        assert_eq!(
            source.matches("Metrics::new(").count(),
            source.matches("Metrics::new(\"DevOpsAgent\")").count(),
            "{relative}: a namespace other than DevOpsAgent"
        );
        let listed = || EMF_RECORDS.iter().filter(|(file, _, _)| *file == relative);
        let metrics: BTreeSet<String> = ["count", "milliseconds", "value"]
            .iter()
            .flat_map(|method| first_string_args(&source, method))
            .collect();
        let listed_metrics: BTreeSet<String> = listed()
            .flat_map(|(_, _, names)| names.iter().map(|n| (*n).to_owned()))
            .collect();
        assert_eq!(
            metrics, listed_metrics,
            "{relative}: metrics vs EMF_RECORDS"
        );
        let dimensions = first_string_args(&source, "dimension");
        let listed_dimensions: BTreeSet<String> = listed()
            .flat_map(|(_, dims, _)| dims.iter().map(|d| (*d).to_owned()))
            .collect();
        assert_eq!(
            dimensions, listed_dimensions,
            "{relative}: dimensions vs EMF_RECORDS"
        );
        seen.insert(relative);
    }
    let listed: BTreeSet<String> = EMF_RECORDS
        .iter()
        .map(|(file, _, _)| (*file).to_owned())
        .collect();
    assert_eq!(seen, listed, "files writing EMF records vs EMF_RECORDS");
}

/// The dashboard's body as CloudWatch receives it, with dummy values for its `Fn::Sub`
/// variables: `eu-west-1` for the region, `param-<name>` for a parameter, `ref-<logical id>`
/// for a resource (a function's name); `${!…}` is CloudFormation's escape for a literal `${…}`.
fn dashboard_body(t: &Value) -> Value {
    let template = t["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_str()
        .expect("DashboardBody is one Fn::Sub string");
    let mut body = String::new();
    let mut rest = template;
    while let Some(at) = rest.find("${") {
        body.push_str(&rest[..at]);
        rest = &rest[at + 2..];
        if let Some(literal) = rest.strip_prefix('!') {
            body.push_str("${");
            rest = literal;
            continue;
        }
        let end = rest.find('}').unwrap();
        let name = &rest[..end];
        rest = &rest[end + 1..];
        let value = if name == "AWS::Region" {
            "eu-west-1".to_owned()
        } else if t["Parameters"][name].is_object() {
            format!("param-{name}")
        } else if t["Resources"][name].is_object() {
            format!("ref-{name}")
        } else {
            panic!("the dashboard substitutes ${{{name}}}, which the template does not define")
        };
        body.push_str(&value);
    }
    body.push_str(rest);
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("dashboard body: {e}\n{body}"))
}

/// `(namespace, metric, dimension names, extra terms)` of each `SEARCH('…', …)` in a metric
/// math expression: the search's schema `{namespace,dimension,…}`, its `MetricName="…"`
/// term, and its other `Dimension="value"` terms.
fn searches(expression: &str) -> Vec<(String, String, BTreeSet<String>, Vec<String>)> {
    expression
        .split("SEARCH('")
        .skip(1)
        .map(|s| {
            let search = &s[..s.find('\'').expect("a quoted search")];
            let (schema, terms) = search
                .strip_prefix('{')
                .and_then(|s| s.split_once('}'))
                .unwrap_or_else(|| panic!("{search}: no {{namespace,dimensions}} schema"));
            let mut schema = schema.split(',').map(str::trim);
            let namespace = schema.next().unwrap().to_owned();
            let dims = schema.map(str::to_owned).collect();
            let mut metric = None;
            let mut others = Vec::new();
            for term in terms.split_whitespace() {
                let (key, value) = term
                    .split_once('=')
                    .unwrap_or_else(|| panic!("{search}: term {term}"));
                if key == "MetricName" {
                    metric = Some(value.trim_matches('"').to_owned());
                } else {
                    others.push(key.to_owned());
                }
            }
            let metric = metric.unwrap_or_else(|| panic!("{search}: no MetricName"));
            (namespace, metric, dims, others)
        })
        .collect()
}

/// The dashboard is valid JSON once substituted; every DevOpsAgent metric it shows, directly
/// or through a SEARCH, is one a function writes (EMF_RECORDS: name and exact dimension set);
/// the per-function widgets name every function in the template; the outputs give its URL.
#[test]
fn the_dashboard_shows_metrics_the_code_writes_and_every_function() {
    let t = template();
    let body = dashboard_body(&t);
    let written = |name: &str, dims: &BTreeSet<String>| {
        EMF_RECORDS.iter().any(|(_, record_dims, names)| {
            names.contains(&name)
                && record_dims
                    .iter()
                    .map(|d| (*d).to_owned())
                    .collect::<BTreeSet<_>>()
                    == *dims
        })
    };
    let mut shown = BTreeSet::new();
    let mut durations = BTreeMap::new();
    let mut sources = BTreeSet::new();
    let widgets = body["widgets"].as_array().unwrap();
    for widget in widgets {
        let properties = &widget["properties"];
        let x = widget["x"].as_u64().unwrap();
        let width = widget["width"].as_u64().unwrap();
        assert!(
            x + width <= 24 && widget["height"].as_u64().unwrap() > 0,
            "{widget}"
        );
        let title = properties["title"].as_str().unwrap_or("");
        match widget["type"].as_str().unwrap() {
            "text" => continue,
            "metric" => {
                let mut previous: Vec<Value> = Vec::new();
                for row in properties["metrics"].as_array().unwrap() {
                    let row = row.as_array().unwrap();
                    if let Some(expression) = row[0]["expression"].as_str() {
                        for (namespace, metric, dims, terms) in searches(expression) {
                            assert_eq!(namespace, "DevOpsAgent", "{title}: {expression}");
                            assert!(
                                written(&metric, &dims),
                                "{title}: no function writes {metric} by {dims:?}"
                            );
                            for term in terms {
                                assert!(dims.contains(&term), "{title}: {term} not in {dims:?}");
                            }
                            shown.insert(metric);
                        }
                        continue;
                    }
                    // `[namespace, metric, dimension, value, …, {options}]`; "." repeats the
                    // previous row's item.
                    let items: Vec<Value> = row
                        .iter()
                        .take_while(|v| v.is_string())
                        .enumerate()
                        .map(|(i, v)| match v.as_str() {
                            Some(".") => previous[i].clone(),
                            _ => v.clone(),
                        })
                        .collect();
                    previous = items.clone();
                    let strings: Vec<&str> = items.iter().map(|v| v.as_str().unwrap()).collect();
                    let (namespace, metric) = (strings[0], strings[1]);
                    let pairs: BTreeMap<&str, &str> = strings[2..]
                        .chunks(2)
                        .map(|pair| (pair[0], pair[1]))
                        .collect();
                    match namespace {
                        "DevOpsAgent" => {
                            let dims = pairs.keys().map(|d| (*d).to_owned()).collect();
                            assert!(
                                written(metric, &dims),
                                "{title}: no function writes {metric} by {dims:?}"
                            );
                            shown.insert(metric.to_owned());
                        }
                        "AWS/Lambda" if metric == "Duration" => {
                            durations.insert(
                                pairs["FunctionName"].to_owned(),
                                row.last().unwrap()["label"].clone(),
                            );
                        }
                        other => panic!("{title}: namespace {other}"),
                    }
                }
            }
            "log" => {
                let query = properties["query"].as_str().unwrap();
                sources.extend(
                    query
                        .split("SOURCE '/aws/lambda/")
                        .skip(1)
                        .map(|s| s[..s.find('\'').unwrap()].to_owned()),
                );
            }
            other => panic!("widget type {other}"),
        }
        assert_eq!(properties["region"], "eu-west-1", "{title}");
        assert!(!title.is_empty(), "{widget}: no title");
    }

    // What the lead's design asked for: questions, errors by code, tokens and cost, cycles,
    // tool latency and errors.
    for metric in [
        "Questions",
        "Errors",
        "InputTokens",
        "OutputTokens",
        "CacheReadInputTokens",
        "CostUsd",
        "Cycles",
        "ToolDuration",
        "ToolCalls",
    ] {
        assert!(
            shown.contains(metric),
            "the dashboard does not show {metric}"
        );
    }

    // Every function's duration (labelled with its binary) and log group.
    let functions = functions(&t);
    let expected: BTreeMap<String, Value> = functions
        .iter()
        .map(|(binary, id)| (format!("ref-{id}"), json!(binary)))
        .collect();
    assert_eq!(
        durations, expected,
        "AWS/Lambda Duration widget vs the template's functions"
    );
    assert_eq!(
        sources,
        expected.keys().cloned().collect::<BTreeSet<_>>(),
        "cold-start log widget vs the template's functions"
    );

    assert!(
        t["Outputs"]["DashboardUrl"]["Value"]["Fn::Sub"]
            .as_str()
            .is_some_and(|url| url.contains("#dashboards:name=${Dashboard}")),
        "DashboardUrl output"
    );
}

/// The optional AgentCore Gateway reaches every tool and nothing else: one Lambda target per
/// tool function with that tool's schema (the block `scripts/agentcore_targets.py` generates
/// from `crates/common/src/tools/*.json`, checked fresh here), a role that may invoke exactly
/// those functions, and nothing created unless the parameter asks for it.
#[test]
fn the_agentcore_gateway_has_a_target_per_tool_with_its_schema() {
    let check = Command::new(venv().unwrap().join("bin/python"))
        .arg(workspace_root().join("scripts/agentcore_targets.py"))
        .arg("--check")
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let t = template();
    let ids = functions(&t);
    let resources = t["Resources"].as_object().unwrap();
    let agentcore: Vec<(&String, &Value)> = resources
        .iter()
        .filter(|(id, r)| {
            id.starts_with("AgentCore")
                || r["Type"]
                    .as_str()
                    .is_some_and(|k| k.starts_with("AWS::BedrockAgentCore::"))
        })
        .collect();
    for (id, r) in &agentcore {
        assert_eq!(
            r["Condition"], "UseAgentCoreGateway",
            "{id} is always created"
        );
    }
    let mut invoked = BTreeSet::new();
    for tool in common::tools::ALL {
        let function = &ids[tool.function];
        let arn = json!({"Fn::GetAtt": [function, "Arn"]});
        let targets: Vec<&&Value> = agentcore
            .iter()
            .map(|(_, r)| r)
            .filter(|r| {
                r["Type"] == "AWS::BedrockAgentCore::GatewayTarget"
                    && r["Properties"]["TargetConfiguration"]["Mcp"]["Lambda"]["LambdaArn"] == arn
            })
            .collect();
        assert_eq!(targets.len(), 1, "{} has no single target", tool.function);
        let payload = &targets[0]["Properties"]["TargetConfiguration"]["Mcp"]["Lambda"]["ToolSchema"]
            ["InlinePayload"];
        let spec = tool.parsed();
        assert_eq!(payload[0]["Name"], spec["name"], "{}", tool.function);
        assert_eq!(payload[0]["Description"], spec["description"]);
        let properties: BTreeSet<&String> = payload[0]["InputSchema"]["Properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        let expected: BTreeSet<&String> = spec["input_schema"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(properties, expected, "{}", tool.function);
        invoked.insert(arn.to_string());
    }
    let role = &resources["AgentCoreGatewayRole"];
    let allowed: BTreeSet<String> =
        role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]["Resource"]
            .as_array()
            .unwrap()
            .iter()
            .map(Value::to_string)
            .collect();
    assert_eq!(
        allowed, invoked,
        "the gateway's role invokes exactly the tools"
    );
    assert_eq!(
        resources["AgentCoreGatewayResource"]["Properties"]["RoleArn"],
        json!({"Fn::GetAtt": ["AgentCoreGatewayRole", "Arn"]})
    );
}
