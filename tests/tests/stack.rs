//! The test stack itself: the backfilled Prometheus answers with the exact values the data
//! set defines, moto is seeded with the EKS and AMP fixtures, and every process is stopped
//! by PID even when the test that started it fails.

use std::{path::Path, process::Command};

use integration_tests::{
    http_client,
    moto::Moto,
    process::ServerProcess,
    prometheus::{Prometheus, dataset},
};
use serde_json::Value;

async fn query(prometheus: &Prometheus, promql: &str, time: i64) -> Value {
    let body: Value = http_client()
        .post(format!("{}/api/v1/query", prometheus.url()))
        .form(&[("query", promql), ("time", &time.to_string())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "success", "{promql}: {body}");
    body["data"].clone()
}

fn scalar_values(data: &Value) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = data["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["metric"].to_string(),
                s["value"][1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test]
async fn prometheus_serves_the_backfilled_data_set_exactly() {
    let prometheus = Prometheus::start().await.unwrap();
    let mid = dataset::T0 + 120 * dataset::STEP;

    let up = scalar_values(&query(&prometheus, "up", dataset::T_END).await);
    assert_eq!(up.len(), 3);
    assert_eq!(up.iter().map(|(_, v)| v).sum::<f64>(), 2.0);

    // Counters grow by a fixed increment per 15 s sample: rate is increment / 15.
    let rates = scalar_values(
        &query(
            &prometheus,
            r#"rate(http_requests_total{job="api"}[1m])"#,
            mid,
        )
        .await,
    );
    let mut got: Vec<f64> = rates.iter().map(|(_, v)| *v).collect();
    got.sort_by(f64::total_cmp);
    let mut want: Vec<f64> = dataset::HTTP_REQUESTS
        .iter()
        .map(|(_, _, inc)| inc / 15.0)
        .collect();
    want.sort_by(f64::total_cmp);
    assert_eq!(got, want);

    let raw =
        scalar_values(&query(&prometheus, r#"http_requests_total{instance="api-2"}"#, mid).await);
    assert_eq!(raw[0].1, dataset::http_requests(15.0, 120));

    let temp = query(
        &prometheus,
        r#"temperature_celsius{sensor="a"}"#,
        dataset::T0 + 13 * dataset::STEP,
    )
    .await;
    assert_eq!(
        temp["result"][0]["value"][1],
        dataset::temperature_a(13).to_string()
    );
    // Special values are stored and spelled as Prometheus spells them.
    for (i, spelled) in [(3, "NaN"), (7, "+Inf"), (11, "-Inf")] {
        let odd = query(
            &prometheus,
            r#"temperature_celsius{sensor="odd"}"#,
            dataset::T0 + i * dataset::STEP,
        )
        .await;
        assert_eq!(odd["result"][0]["value"][1], spelled);
    }

    let fanout = query(&prometheus, "count(fanout_series)", dataset::T_END).await;
    assert_eq!(fanout["result"][0]["value"][1], dataset::FANOUT.to_string());

    // Nothing after the data set (no scraping): the newest sample is T_END.
    let later = query(&prometheus, "up", dataset::T_END + 3600).await;
    assert_eq!(later["result"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn moto_is_seeded_with_the_eks_and_amp_fixtures() {
    let (moto, fixtures) = Moto::start_seeded().await.unwrap();
    assert_eq!(fixtures.region, "us-east-1");
    assert_eq!(
        fixtures
            .clusters
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["dev", "prod-eu", "staging"]
    );
    assert_eq!(
        fixtures.clusters["prod-eu"].nodegroups,
        ["general", "spot-batch", "legacy"]
    );
    assert_eq!(
        fixtures.clusters["prod-eu"].fargate_profiles,
        ["serverless-jobs"]
    );
    assert_eq!(fixtures.clusters["prod-eu"].version, "1.30");
    let ws = &fixtures.workspaces["observability-prod"];
    assert!(ws.starts_with("ws-"), "{ws}");

    // The fixtures are really in the server: EKS's REST API lists them. moto routes a
    // request to a service by its SigV4 scope, so sign it (with our signer).
    let sdk = Moto::sdk_config_for(moto.endpoint()).await;
    let signer = common::sigv4::RequestSigner::from_sdk_config(&sdk, "eks", None).unwrap();
    let client = http_client();
    let mut request = client
        .get(format!("{}/clusters", moto.endpoint()))
        .build()
        .unwrap();
    signer.sign(&mut request).await.unwrap();
    let clusters: Value = client.execute(request).await.unwrap().json().await.unwrap();
    let mut names: Vec<&str> = clusters["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["dev", "prod-eu", "staging"]);
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn a_failing_test_still_stops_its_processes_by_pid() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("sleep.log");
    let pid = std::sync::Mutex::new(0);
    let result = std::panic::catch_unwind(|| {
        let process =
            ServerProcess::spawn("sleep", Command::new("sleep").arg("600"), &log).unwrap();
        *pid.lock().unwrap() = process.pid();
        assert!(alive(process.pid()));
        panic!("a test failing while its server runs");
    });
    assert!(result.is_err());
    let pid = *pid.lock().unwrap();
    assert!(pid > 0);
    assert!(!alive(pid), "process {pid} outlived the failed test");
}

#[tokio::test]
async fn dropping_a_server_handle_stops_it() {
    let mut prometheus = Prometheus::start().await.unwrap();
    let pid = prometheus.pid();
    assert!(alive(pid));
    prometheus.stop();
    assert!(!alive(pid));
    drop(prometheus);

    let moto = Moto::start().await.unwrap();
    let pid = moto.pid();
    drop(moto);
    // SIGKILL is immediate and the handle waits for the exit, so no polling is needed.
    assert!(!alive(pid), "moto {pid} still running");
}
