//! `runbooks` against moto's S3 on loopback, through a counting proxy, one behaviour per test,
//! each on its own moto holding the four sample runbooks of `runbooks/` (as `make dev` and a
//! real bucket get them): `list` with every runbook's front matter and only `.md` objects,
//! kept for the configuration's cache lifetime and read again after it; paging across
//! ListObjectsV2 pages; `search` ranked with its matching lines (their numbers those of the
//! text `get` returns); `get` exact, and cut at 32 KB with the marker; a key outside the
//! prefix refused with no request sent; a missing key, a missing bucket, missing
//! configuration, access denied and throttling mapped to the envelope; a secret in a runbook
//! scrubbed everywhere it shows; and every sample event through the Lambda Runtime API.

use std::{collections::HashMap, time::Duration};

use aws_sdk_ssm::types::ParameterType;
use common::{AppConfig, ErrorCode, ToolError};
use integration_tests::{lambda::LambdaFunction, moto::Moto, proxy::FaultProxy, workspace_root};
use runbooks::{MAX_TEXT_BYTES, Runbooks};
use serde_json::{Value, json};

const BUCKET: &str = "team-runbooks";

/// The sample runbooks: `(file name, text)`, by name.
fn samples() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(workspace_root().join("runbooks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// moto with the bucket, the sample runbooks under `runbooks/`, a note that is not a runbook
/// and a runbook outside the prefix; a proxy in front of it that counts S3 requests.
struct Stack {
    moto: Moto,
    proxy: FaultProxy,
}

async fn stack() -> Stack {
    let moto = Moto::start().await.unwrap();
    assert_eq!(moto.seed_runbooks(BUCKET).await.unwrap(), SAMPLE_KEYS);
    moto.put_object(BUCKET, "runbooks/README.txt", "How to write a runbook.")
        .await
        .unwrap();
    moto.put_object(
        BUCKET,
        "drafts/secret-plan.md",
        "---\ntitle: Not published\n---\n",
    )
    .await
    .unwrap();
    let proxy = FaultProxy::start(moto.endpoint()).await.unwrap();
    Stack { moto, proxy }
}

fn config(values: &[(&str, &str)]) -> AppConfig {
    AppConfig::fixed(
        values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<HashMap<_, _>>(),
    )
}

impl Stack {
    /// The handler on the proxy, configured with the bucket (and the default prefix).
    fn handler(&self) -> Runbooks {
        self.handler_with(config(&[("runbooks/bucket", BUCKET)]))
    }

    fn handler_with(&self, config: AppConfig) -> Runbooks {
        Runbooks::with_s3(Moto::s3_for(&self.proxy.url()), config)
    }

    /// S3 requests the proxy saw, as `METHOD /path`.
    fn requests(&self) -> Vec<String> {
        self.proxy.seen()
    }
}

async fn call(h: &Runbooks, input: Value) -> Result<Value, ToolError> {
    integration_tests::handle(h, input, Duration::from_secs(30)).await
}

fn keys(answer: &Value) -> Vec<&str> {
    answer["runbooks"]
        .as_array()
        .unwrap_or_else(|| panic!("no runbooks in {answer}"))
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect()
}

const SAMPLE_KEYS: [&str; 4] = [
    "runbooks/amp-throttling.md",
    "runbooks/http-5xx-burst.md",
    "runbooks/node-not-ready.md",
    "runbooks/pod-crashloop.md",
];

#[tokio::test]
async fn list_gives_each_runbooks_front_matter_and_keeps_it_for_the_cache_lifetime() {
    let s = stack().await;
    let h = s.handler();
    let out = call(&h, json!({"action": "list"})).await.unwrap();
    assert_eq!(keys(&out), SAMPLE_KEYS, "{out}");
    assert_eq!(
        out["runbooks"][3],
        json!({
            "key": "runbooks/pod-crashloop.md",
            "title": "Pod crash-looping (CrashLoopBackOff)",
            "tags": ["kubernetes", "pods", "crashloop", "CrashLoopBackOff", "OOMKilled", "restarts"],
            "use_when": "A pod's container restarts again and again, its status is CrashLoopBackOff or its restart count keeps growing (KubePodCrashLooping firing).",
            "size_bytes": samples()[3].1.len(),
            "last_modified": out["runbooks"][3]["last_modified"],
        })
    );
    assert!(
        out["runbooks"][3]["last_modified"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{out}"
    );
    assert_eq!(
        (
            &out["source"],
            &out["count"],
            &out["total"],
            &out["truncated"],
            &out["cached"]
        ),
        (
            &json!("s3://team-runbooks/runbooks/"),
            &json!(4),
            &json!(4),
            &json!(false),
            &json!(false)
        )
    );
    // README.txt is under the prefix but not Markdown; drafts/ is outside the prefix.
    assert_eq!(
        out["notes"],
        json!(["1 object(s) under the prefix are not Markdown (.md) and are not runbooks"])
    );
    let mut seen = s.requests();
    seen.sort();
    assert_eq!(
        seen,
        [
            "GET /team-runbooks/",
            "GET /team-runbooks/runbooks/amp-throttling.md",
            "GET /team-runbooks/runbooks/http-5xx-burst.md",
            "GET /team-runbooks/runbooks/node-not-ready.md",
            "GET /team-runbooks/runbooks/pod-crashloop.md",
        ]
    );

    // The same instance, within the cache lifetime: no request, even for a search.
    let again = call(&h, json!({"action": "list", "max_results": 2}))
        .await
        .unwrap();
    assert_eq!(keys(&again), &SAMPLE_KEYS[..2]);
    assert_eq!(
        (&again["cached"], &again["truncated"], &again["total"]),
        (&json!(true), &json!(true), &json!(4))
    );
    let found = call(&h, json!({"action": "search", "query": "throttling"}))
        .await
        .unwrap();
    assert_eq!(found["cached"], true);
    assert_eq!(s.requests().len(), 5, "{:?}", s.requests());
}

#[tokio::test]
async fn with_a_zero_cache_lifetime_every_list_reads_the_bucket_again() {
    let s = stack().await;
    // Configuration from moto's SSM with a zero TTL, as the fault matrix runs it.
    s.moto
        .put_parameter("/rb/runbooks/bucket", BUCKET, ParameterType::String)
        .await
        .unwrap();
    let ssm = aws_sdk_ssm::Client::new(&Moto::sdk_config_for(s.moto.endpoint()).await);
    let fresh = s.handler_with(AppConfig::with_ssm_client(ssm, "/rb", Duration::ZERO).unwrap());
    let kept = s.handler();
    assert_eq!(
        keys(&call(&fresh, json!({"action": "list"})).await.unwrap()).len(),
        4
    );
    assert_eq!(
        keys(&call(&kept, json!({"action": "list"})).await.unwrap()).len(),
        4
    );
    s.moto
        .put_object(
            BUCKET,
            "runbooks/disk-full.md",
            "---\ntitle: Disk full\n---\n",
        )
        .await
        .unwrap();
    let out = call(&fresh, json!({"action": "list"})).await.unwrap();
    assert_eq!(out["cached"], false);
    assert!(keys(&out).contains(&"runbooks/disk-full.md"), "{out}");
    // A 300 s lifetime: the new runbook shows only after it.
    let out = call(&kept, json!({"action": "list"})).await.unwrap();
    assert_eq!((keys(&out).len(), &out["cached"]), (4, &json!(true)));
}

#[tokio::test]
async fn list_follows_every_list_page() {
    let s = stack().await;
    for i in 0..25 {
        s.moto
            .put_object(
                BUCKET,
                &format!("runbooks/generated/gen-{i:02}.md"),
                format!("---\ntitle: Generated {i}\ntags: gen\n---\nStep {i}.\n"),
            )
            .await
            .unwrap();
    }
    let mut h = s.handler();
    h.page_size = 10;
    let out = call(&h, json!({"action": "list", "max_results": 50}))
        .await
        .unwrap();
    // 25 + 4 runbooks and README.txt: 30 keys, three pages of ten.
    assert_eq!(
        s.proxy.count("GET /team-runbooks/"),
        3,
        "{:?}",
        s.requests()
    );
    assert_eq!((&out["count"], &out["total"]), (&json!(29), &json!(29)));
    let keys = keys(&out);
    assert_eq!(keys[0], "runbooks/amp-throttling.md");
    // By key: "generated/" sorts between amp-… and http-….
    assert_eq!(keys[1], "runbooks/generated/gen-00.md");
    assert_eq!(keys[25], "runbooks/generated/gen-24.md");
    assert_eq!(keys[28], "runbooks/pod-crashloop.md");
    assert_eq!(out["runbooks"][1]["tags"], json!(["gen"]));
}

#[tokio::test]
async fn search_ranks_title_and_tag_matches_first_with_the_lines_get_shows() {
    let s = stack().await;
    let h = s.handler();
    for (query, first) in [
        ("pod crashing with restarts", "runbooks/pod-crashloop.md"),
        ("node NotReady", "runbooks/node-not-ready.md"),
        ("burst of 502 and 503", "runbooks/http-5xx-burst.md"),
        ("5xx", "runbooks/http-5xx-burst.md"),
        ("throttled queries", "runbooks/amp-throttling.md"),
        ("OOMKilled", "runbooks/pod-crashloop.md"),
    ] {
        let out = call(&h, json!({"action": "search", "query": query}))
            .await
            .unwrap();
        assert_eq!(keys(&out).first(), Some(&first), "{query}: {out}");
    }

    let out = call(
        &h,
        json!({"action": "search", "query": "pod crashing with restarts", "max_results": 2}),
    )
    .await
    .unwrap();
    assert_eq!(out["words"], json!(["pod", "crash", "restart"]));
    assert_eq!(out["count"], 2);
    assert_eq!(out["searched"], 4);
    assert!(out["matches"].as_u64().unwrap() > 2, "{out}");
    assert_eq!(out["truncated"], true);
    let best = &out["runbooks"][0];
    assert_eq!(
        best["matched_in"],
        json!(["title", "tags", "use_when", "text"])
    );
    // The second is there for its text alone: ranked below a title match.
    assert!(
        !out["runbooks"][1]["matched_in"]
            .as_array()
            .unwrap()
            .contains(&json!("title"))
    );
    let lines = best["lines"].as_array().unwrap();
    assert!(!lines.is_empty() && lines.len() <= 5, "{best}");
    // Each line is the line of that number in the text get returns.
    let text = call(
        &h,
        json!({"action": "get", "key": "runbooks/pod-crashloop.md"}),
    )
    .await
    .unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    let text_lines: Vec<&str> = text.lines().collect();
    for line in lines {
        let n = line["line"].as_u64().unwrap() as usize;
        let shown = line["text"].as_str().unwrap();
        assert_eq!(
            common::text::clean(text_lines[n - 1], runbooks::MAX_LINE_CHARS),
            shown
        );
        let lower = shown.to_lowercase();
        assert!(
            ["pod", "crash", "restart"]
                .iter()
                .any(|w| lower.contains(w)),
            "{shown}"
        );
    }
}

#[tokio::test]
async fn a_search_that_matches_nothing_says_what_to_do() {
    let s = stack().await;
    let h = s.handler();
    let out = call(
        &h,
        json!({"action": "search", "query": "kafka consumer lag"}),
    )
    .await
    .unwrap();
    assert_eq!((&out["count"], &out["matches"]), (&json!(0), &json!(0)));
    assert_eq!(out["runbooks"], json!([]));
    assert!(
        out["notes"]
            .as_array()
            .unwrap()
            .contains(&json!("no runbook matches; list shows all 4 of them")),
        "{out}"
    );
}

#[tokio::test]
async fn get_returns_each_sample_runbook_as_written() {
    let s = stack().await;
    let h = s.handler();
    for (name, text) in samples() {
        let key = format!("runbooks/{name}");
        let out = call(&h, json!({"action": "get", "key": key}))
            .await
            .unwrap();
        assert_eq!(out["text"], text, "{key}");
        assert_eq!(
            (&out["truncated"], &out["redactions"], &out["size_bytes"]),
            (&json!(false), &json!(0), &json!(text.len())),
            "{key}"
        );
        assert!(text.len() <= 6 * 1024, "{key} is over 6 KB");
        assert!(out["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(out["tags"].as_array().is_some_and(|t| t.len() >= 3));
        assert!(out["use_when"].is_string(), "{key} says when to use it");
        assert!(
            out["last_modified"]
                .as_str()
                .is_some_and(|d| d.ends_with("GMT"))
        );
    }
    assert_eq!(
        s.requests().len(),
        4,
        "one GetObject each, no list: {:?}",
        s.requests()
    );
}

#[tokio::test]
async fn a_long_runbook_is_cut_at_32_kb_with_a_marker() {
    let s = stack().await;
    let mut text = String::from("---\ntitle: Long one\ntags: [long]\n---\n");
    let mut i = 0;
    while text.len() < 40_000 {
        i += 1;
        text.push_str(&format!(
            "Step {i}: check the thing numbered {i} and note its state.\n"
        ));
    }
    s.moto
        .put_object(BUCKET, "runbooks/long.md", text.clone())
        .await
        .unwrap();
    let h = s.handler();
    let out = call(&h, json!({"action": "get", "key": "runbooks/long.md"}))
        .await
        .unwrap();
    let got = out["text"].as_str().unwrap();
    let marker = runbooks::cut_marker(Some(text.len() as u64));
    assert!(got.ends_with(&marker), "{}", &got[got.len() - 200..]);
    assert!(marker.contains("32 KB") && marker.contains(&text.len().to_string()));
    let head = got.strip_suffix(&marker).unwrap();
    assert!(head.len() <= MAX_TEXT_BYTES && head.len() > MAX_TEXT_BYTES - 200);
    // Whole lines only, exactly as written.
    assert!(text.starts_with(&format!("{head}\n")));
    assert_eq!(
        (&out["truncated"], &out["size_bytes"], &out["title"]),
        (&json!(true), &json!(text.len()), &json!("Long one"))
    );
    // Under the 64 KB list and search read: listed and searched whole.
    let listed = call(&h, json!({"action": "list"})).await.unwrap();
    assert!(keys(&listed).contains(&"runbooks/long.md"));
    assert!(
        listed
            .get("notes")
            .is_some_and(|n| !n.to_string().contains("long.md"))
    );
}

#[tokio::test]
async fn a_key_outside_the_prefix_is_refused_before_any_request() {
    let s = stack().await;
    let h = s.handler();
    for (key, want) in [
        (
            "drafts/secret-plan.md",
            "key must be a runbook's whole key under the prefix runbooks/",
        ),
        // Without its prefix: one form only, the key as list gives it.
        (
            "pod-crashloop.md",
            "key must be a runbook's whole key under the prefix runbooks/",
        ),
        (
            "runbooks/../drafts/secret-plan.md",
            "key must not contain .. or //, nor start with /",
        ),
        ("runbooks/README.txt", "key must name a Markdown runbook"),
    ] {
        let e = call(&h, json!({"action": "get", "key": key}))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput, "{key}");
        assert!(e.message.starts_with(want), "{key}: {}", e.message);
    }
    for refused in [
        json!({"action": "search"}),
        json!({"action": "list", "key": "runbooks/pod-crashloop.md"}),
        json!({"action": "search", "query": "x".repeat(201)}),
    ] {
        let e = call(&h, refused.clone()).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput, "{refused}");
    }
    assert_eq!(s.requests(), Vec::<String>::new(), "no request went out");
}

#[tokio::test]
async fn another_prefix_from_configuration_is_where_runbooks_are() {
    let s = stack().await;
    s.moto
        .put_object(
            BUCKET,
            "ops/rb/disk-full.md",
            "# Disk full\n\nDelete old logs.\n",
        )
        .await
        .unwrap();
    let h = s.handler_with(config(&[
        ("runbooks/bucket", BUCKET),
        ("runbooks/prefix", "ops/rb"),
    ]));
    let out = call(&h, json!({"action": "list"})).await.unwrap();
    assert_eq!(keys(&out), ["ops/rb/disk-full.md"]);
    // No front matter: the first heading is the title.
    assert_eq!(out["runbooks"][0]["title"], "Disk full");
    assert_eq!(out["source"], "s3://team-runbooks/ops/rb/");
    let e = call(
        &h,
        json!({"action": "get", "key": "runbooks/pod-crashloop.md"}),
    )
    .await
    .unwrap_err();
    assert!(
        e.message.contains("under the prefix ops/rb/"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn a_missing_runbook_is_not_found() {
    let s = stack().await;
    let h = s.handler();
    let e = call(&h, json!({"action": "get", "key": "runbooks/nope.md"}))
        .await
        .unwrap_err();
    assert_eq!((e.code, e.retryable), (ErrorCode::NotFound, false));
    assert_eq!(
        e.message,
        "no runbook runbooks/nope.md in s3://team-runbooks/runbooks/: list shows the keys there"
    );
}

#[tokio::test]
async fn a_missing_bucket_is_not_found_naming_the_bucket_and_its_key() {
    let s = stack().await;
    let h = s.handler_with(config(&[("runbooks/bucket", "no-such-bucket")]));
    for input in [
        json!({"action": "list"}),
        json!({"action": "search", "query": "pods"}),
        json!({"action": "get", "key": "runbooks/pod-crashloop.md"}),
    ] {
        let e = call(&h, input.clone()).await.unwrap_err();
        assert_eq!(
            (e.code, e.retryable),
            (ErrorCode::NotFound, false),
            "{input}"
        );
        assert_eq!(
            e.message,
            "the bucket no-such-bucket does not exist (configuration key `runbooks/bucket`): set it to the bucket that holds the runbooks",
            "{input}"
        );
    }
}

#[tokio::test]
async fn missing_configuration_is_a_config_error_before_any_request() {
    let s = stack().await;
    let h = s.handler_with(config(&[]));
    let e = call(&h, json!({"action": "list"})).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ConfigError);
    assert_eq!(
        e.message,
        "configuration key `runbooks/bucket` is not set: set the environment variable RUNBOOKS_BUCKET"
    );
    assert!(s.requests().is_empty());
}

#[tokio::test]
async fn access_denied_names_the_iam_action_and_throttling_is_retryable() {
    let denied = integration_tests::answering(
        403,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>R1</RequestId></Error>",
    )
    .await
    .unwrap();
    let h = Runbooks::with_s3(
        Moto::s3_for(&denied),
        config(&[("runbooks/bucket", BUCKET)]),
    );
    let e = call(&h, json!({"action": "list"})).await.unwrap_err();
    assert_eq!((e.code, e.retryable), (ErrorCode::AccessDenied, false));
    assert_eq!(
        e.message,
        "Amazon S3 returned AccessDenied: Access Denied; the function's role needs s3:ListBucket on arn:aws:s3:::team-runbooks (prefix runbooks/)"
    );
    let e = call(
        &h,
        json!({"action": "get", "key": "runbooks/pod-crashloop.md"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::AccessDenied);
    assert!(
        e.message.contains(
            "the function's role needs s3:GetObject on arn:aws:s3:::team-runbooks/runbooks/*"
        ),
        "{}",
        e.message
    );

    let slow = integration_tests::answering(
        503,
        "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
    )
    .await
    .unwrap();
    let h = Runbooks::with_s3(Moto::s3_for(&slow), config(&[("runbooks/bucket", BUCKET)]));
    let e = call(&h, json!({"action": "list"})).await.unwrap_err();
    assert_eq!((e.code, e.retryable), (ErrorCode::Throttled, true));
    assert_eq!(
        e.message,
        "Amazon S3 returned SlowDown: Please reduce your request rate."
    );
}

/// What the scrubber must catch in a runbook: a pasted connection string, a key id and a
/// password line.
const LEAKY: &str = "---\ntitle: Database failover\ntags: [database, failover]\n---\n# Database failover\n\n1. Connect: psql postgres://admin:Sup3rS3cret@db.internal:5432/orders\n2. The old key AKIAIOSFODNN7EXAMPLE must be rotated.\n3. DB_PASSWORD=hunter2-failover is in the vault.\n";

#[tokio::test]
async fn a_secret_in_a_runbook_never_leaves_the_function() {
    let s = stack().await;
    s.moto
        .put_object(BUCKET, "runbooks/db-failover.md", LEAKY)
        .await
        .unwrap();
    let h = s.handler();
    let got = call(
        &h,
        json!({"action": "get", "key": "runbooks/db-failover.md"}),
    )
    .await
    .unwrap();
    assert_eq!(got["redactions"], 3, "{got}");
    assert_eq!(
        got["text"]
            .as_str()
            .unwrap()
            .lines()
            .skip(6)
            .collect::<Vec<_>>(),
        [
            "1. Connect: psql postgres://admin:[redacted]@db.internal:5432/orders",
            "2. The old key [redacted] must be rotated.",
            "3. DB_PASSWORD=[redacted] is in the vault.",
        ]
    );
    let found = call(
        &h,
        json!({"action": "search", "query": "failover connect rotated vault"}),
    )
    .await
    .unwrap();
    assert_eq!(keys(&found)[0], "runbooks/db-failover.md");
    assert_eq!(found["redactions"], 3);
    let listed = call(&h, json!({"action": "list"})).await.unwrap();
    for answer in [&got, &found, &listed] {
        let text = answer.to_string();
        for secret in ["Sup3rS3cret", "AKIAIOSFODNN7EXAMPLE", "hunter2-failover"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}

#[tokio::test]
async fn every_sample_event_through_the_runtime_api() {
    let s = stack().await;
    let mut env = s.moto.env();
    env.push(("RUNBOOKS_BUCKET".into(), BUCKET.into()));
    let f = LambdaFunction::start("runbooks", &env).await.unwrap();
    let samples = f.answer_every_sample_event("runbooks").await;
    assert_eq!(
        keys(&samples.direct)[0],
        "runbooks/pod-crashloop.md",
        "{}",
        samples.direct
    );
    let rest = &samples.apigw_rest;
    assert_eq!(
        (&rest["key"], &rest["title"], &rest["truncated"]),
        (
            &json!("runbooks/node-not-ready.md"),
            &json!("Node NotReady"),
            &json!(false)
        ),
        "{rest}"
    );
    let http = &samples.apigw_http;
    assert_eq!(keys(http)[0], "runbooks/http-5xx-burst.md", "{http}");
    assert_eq!(http["count"], 2);
    let url = &samples.function_url;
    assert_eq!(keys(url), SAMPLE_KEYS, "{url}");
    assert_eq!(keys(&samples.agentcore)[0], "runbooks/amp-throttling.md");

    // A refused key through API Gateway: 400 with the envelope.
    let mut outside = integration_tests::sample_event("runbooks", "apigw-rest.json");
    outside["body"] = json!(r#"{"action": "get", "key": "drafts/secret-plan.md"}"#);
    let out = f.invoke(&outside).await.unwrap().response();
    assert_eq!(out["statusCode"], 400, "{out}");
    let body: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "INVALID_INPUT");
}
