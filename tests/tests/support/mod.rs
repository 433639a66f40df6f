//! SSM fixtures shared by the configuration test binaries (`config`, `config_logs`).

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use common::AppConfig;
use integration_tests::{moto::Moto, proxy::FaultProxy};

pub const PATH: &str = "/devops-agent/test";
pub const SWEEP: &str = "AmazonSSM.GetParametersByPath";
pub const CANARY: &str = integration_tests::canary::SSM_SECURE_STRING;

pub async fn ssm_client(endpoint: &str) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&Moto::sdk_config_for(endpoint).await)
}

pub async fn put(ssm: &aws_sdk_ssm::Client, key: &str, value: &str, kind: ParameterType) {
    ssm.put_parameter()
        .name(format!("{PATH}/{key}"))
        .value(value)
        .r#type(kind)
        .overwrite(true)
        .send()
        .await
        .expect("moto stores the parameter");
}

/// moto with `n` plain parameters `k00..`, one nested one and one SecureString, and a
/// counting proxy in front of it.
pub async fn stack(n: usize) -> (Moto, FaultProxy, aws_sdk_ssm::Client) {
    let moto = Moto::start().await.unwrap();
    let direct = ssm_client(moto.endpoint()).await;
    for i in 0..n {
        put(
            &direct,
            &format!("k{i:02}"),
            &format!("v{i}"),
            ParameterType::String,
        )
        .await;
    }
    put(&direct, "agent/max_cycles", "8", ParameterType::String).await;
    put(
        &direct,
        "websearch/api_key",
        CANARY,
        ParameterType::SecureString,
    )
    .await;
    let proxy = FaultProxy::start(moto.endpoint()).await.unwrap();
    (moto, proxy, direct)
}

pub async fn config_via(proxy: &FaultProxy, ttl: Duration) -> AppConfig {
    AppConfig::with_ssm_client(ssm_client(&proxy.url()).await, PATH, ttl).unwrap()
}
