//! moto's server on loopback: SSM, EKS, AMP, STS and DynamoDB for the real AWS SDK clients,
//! and S3 for the runbooks function's signed REST calls.

use std::{path::PathBuf, process::Command, time::Duration};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use serde::Deserialize;
use tempfile::TempDir;

use crate::{
    Result,
    process::{ServerProcess, free_port},
    stack_file, venv,
};

/// The region every fixture lives in.
pub const REGION: &str = "us-east-1";

/// The bucket the local stack keeps the sample runbooks in ([`Moto::seed_runbooks`]).
pub const RUNBOOKS_BUCKET: &str = "devops-agent-runbooks";

/// What `stack/seed_moto.py` created.
#[derive(Debug, Clone, Deserialize)]
pub struct Fixtures {
    /// Region of all resources.
    pub region: String,
    /// Cluster name → version, node groups and Fargate profiles.
    pub clusters: std::collections::BTreeMap<String, ClusterFixture>,
    /// AMP workspace alias → workspace id (moto generates the ids).
    pub workspaces: std::collections::BTreeMap<String, String>,
}

/// One seeded EKS cluster.
#[derive(Debug, Clone, Deserialize)]
pub struct ClusterFixture {
    /// Kubernetes version.
    pub version: String,
    /// Node group names.
    pub nodegroups: Vec<String>,
    /// Fargate profile names.
    pub fargate_profiles: Vec<String>,
}

/// A running moto server.
#[derive(Debug)]
pub struct Moto {
    process: ServerProcess,
    endpoint: String,
    _dir: TempDir,
}

impl Moto {
    /// Starts moto's server on a free port (empty: no fixtures).
    pub async fn start() -> Result<Self> {
        let venv = venv()?;
        let dir = tempfile::Builder::new().prefix("moto-").tempdir()?;
        let mut last_error = None;
        for _ in 0..3 {
            let port = free_port()?;
            let mut command = Command::new(venv.join("bin/moto_server"));
            command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
            let mut process =
                ServerProcess::spawn("moto", &mut command, &dir.path().join("moto.log"))?;
            let endpoint = format!("http://127.0.0.1:{port}");
            match process
                .wait_ready(&format!("{endpoint}/moto-api/"), Duration::from_secs(30))
                .await
            {
                Ok(()) => {
                    return Ok(Self {
                        process,
                        endpoint,
                        _dir: dir,
                    });
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| "moto did not start".into()))
    }

    /// Starts moto and seeds the EKS clusters and AMP workspaces of `stack/seed_moto.py`.
    pub async fn start_seeded() -> Result<(Self, Fixtures)> {
        let moto = Self::start().await?;
        let fixtures = moto.seed()?;
        Ok((moto, fixtures))
    }

    /// Runs the seed script against this server.
    pub fn seed(&self) -> Result<Fixtures> {
        let python: PathBuf = venv()?.join("bin/python");
        let output = Command::new(python)
            .arg(stack_file("seed_moto.py"))
            .arg(&self.endpoint)
            .output()?;
        if !output.status.success() {
            return Err(format!(
                "seeding moto failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        Ok(serde_json::from_slice(&output.stdout)?)
    }

    /// Base URL for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Environment for a function process that should use this server: endpoint, region and
    /// moto's dummy credentials.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_REGION", REGION),
            ("AWS_ACCESS_KEY_ID", "testing"),
            (
                "AWS_SECRET_ACCESS_KEY",
                crate::canary::AWS_SECRET_ACCESS_KEY,
            ),
            ("AWS_SESSION_TOKEN", crate::canary::AWS_SESSION_TOKEN),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// Stores (or overwrites) the SSM parameter `name`.
    pub async fn put_parameter(
        &self,
        name: &str,
        value: &str,
        kind: aws_sdk_ssm::types::ParameterType,
    ) -> Result<()> {
        aws_sdk_ssm::Client::new(&Self::sdk_config_for(&self.endpoint).await)
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(kind)
            .overwrite(true)
            .send()
            .await?;
        Ok(())
    }

    /// Creates the agent's sessions table (`session_id` key, on demand), as the SAM template
    /// does.
    pub async fn create_sessions_table(&self, name: &str) -> Result<()> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        let dynamodb = aws_sdk_dynamodb::Client::new(&Self::sdk_config_for(&self.endpoint).await);
        dynamodb
            .create_table()
            .table_name(name)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("session_id")
                    .attribute_type(ScalarAttributeType::S)
                    .build()?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("session_id")
                    .key_type(KeyType::Hash)
                    .build()?,
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await?;
        Ok(())
    }

    /// Creates the S3 bucket `bucket` (in [`REGION`]).
    pub async fn create_bucket(&self, bucket: &str) -> Result<()> {
        s3_put(&self.endpoint, &format!("/{bucket}"), Vec::new()).await
    }

    /// Stores (or overwrites) the S3 object `key` of `bucket`.
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: impl Into<Vec<u8>>,
    ) -> Result<()> {
        let path: String = percent_encoding::utf8_percent_encode(key, S3_KEY).collect();
        s3_put(&self.endpoint, &format!("/{bucket}/{path}"), body.into()).await
    }

    /// Creates `bucket` and stores every `runbooks/*.md` of the workspace under `runbooks/`,
    /// as `aws s3 sync runbooks/ s3://<bucket>/runbooks/` does for a real bucket; returns the
    /// keys, in order.
    pub async fn seed_runbooks(&self, bucket: &str) -> Result<Vec<String>> {
        self.create_bucket(bucket).await?;
        let mut files: Vec<std::path::PathBuf> =
            std::fs::read_dir(crate::workspace_root().join("runbooks"))?
                .map(|entry| entry.map(|e| e.path()))
                .collect::<std::io::Result<_>>()?;
        files.retain(|p| p.extension().is_some_and(|x| x == "md"));
        files.sort();
        let mut keys = Vec::new();
        for file in files {
            let name = file.file_name().unwrap_or_default().to_string_lossy();
            let key = format!("runbooks/{name}");
            self.put_object(bucket, &key, std::fs::read(&file)?).await?;
            keys.push(key);
        }
        Ok(keys)
    }

    /// An S3 client for the runbooks function pointed at `endpoint` (this server, or a proxy
    /// in front of it), path-style, with moto's credentials.
    pub fn s3_for(endpoint: &str) -> runbooks::s3::S3 {
        runbooks::s3::S3::new(crate::http_client(), s3_signer(), Some(endpoint.to_owned()))
    }

    /// An SDK configuration for in-process clients pointed at `endpoint` (this server, or a
    /// proxy in front of it), with the same HTTP client and retries the functions use.
    pub async fn sdk_config_for(endpoint: &str) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .http_client(common::aws::http_client())
            .retry_config(common::aws::request_path_retries())
            .endpoint_url(endpoint)
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new(
                "testing",
                crate::canary::AWS_SECRET_ACCESS_KEY,
                Some(crate::canary::AWS_SESSION_TOKEN.into()),
                None,
                "moto",
            ))
            .load()
            .await
    }
}

/// Bytes of an S3 key kept as they are in a path: RFC 3986's unreserved characters and `/`.
const S3_KEY: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// A SigV4 signer for S3 with moto's credentials: moto's server tells services apart by the
/// signature's scope, so even the fixtures' uploads are signed.
fn s3_signer() -> common::sigv4::RequestSigner {
    common::sigv4::RequestSigner::new(
        aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
            "testing",
            crate::canary::AWS_SECRET_ACCESS_KEY,
            Some(crate::canary::AWS_SESSION_TOKEN.into()),
            None,
            "moto",
        )),
        REGION,
        "s3",
    )
    .for_s3()
}

/// A signed S3 `PUT` of `path` (a bucket, or an object) with `body`; an error status is an
/// error naming it.
async fn s3_put(endpoint: &str, path: &str, body: Vec<u8>) -> Result<()> {
    let client = crate::http_client();
    let mut request = client.put(format!("{endpoint}{path}")).body(body).build()?;
    s3_signer()
        .sign(&mut request)
        .await
        .map_err(|e| e.to_string())?;
    let response = client.execute(request).await?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        return Err(format!("S3 PUT {path}: HTTP {status}: {text}").into());
    }
    Ok(())
}
