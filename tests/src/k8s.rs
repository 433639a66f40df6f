//! The Kubernetes API server double (`stack/k8s_double.py`): an EKS cluster's API server on
//! loopback, over TLS with a test CA made per start, taking only EKS IAM tokens.
//!
//! It serves the objects and container logs of `stack/k8s_fixtures.json`, a cluster in
//! trouble, read-only and in the real REST/JSON protocol (lists with `limit`/`continue`, label
//! and field selectors, `Status` errors worded as the API server words them, pod logs chosen
//! as the kubelet chooses them). Times in the fixtures are relative to the start. What is in
//! it (see the file's `_comment` for the format):
//!
//! * `prod`: Deployment `api` (3 replicas, revision 2 stuck: Progressing False
//!   `ProgressDeadlineExceeded`, 1 available) with ReplicaSets `api-7d4b9c` (revision 1,
//!   `api:1.4.0`, pod `api-7d4b9c-ok` Running) and `api-5f6a8e` (revision 2, `api:1.5.0`, pods
//!   `api-5f6a8e-x1` and `api-5f6a8e-x2` in CrashLoopBackOff, 7 restarts, last exit 1
//!   `Error`); StatefulSet `worker` (pods `worker-0` Running, its `worker` container OOMKilled
//!   20 minutes before the start, with containers `worker` and `log-shipper` and init container
//!   `init-config`; `worker-1` Pending on its claim); Pod `batch-pending` (Unschedulable,
//!   `0/3 nodes are available: 3 Insufficient memory.`); Job `migrate` failed
//!   (`BackoffLimitExceeded`, pod `migrate-xk2p9`); PVCs `data-worker-0` Bound and
//!   `data-worker-1` Pending; Secret `api-db`, ConfigMap `api-config`.
//! * `kube-system`: DaemonSet `aws-node` (a pod per node, healthy), Deployment `coredns`.
//! * `staging`: Deployment `web`, one Running pod `web-6c8d7f9b4-m4zqp`.
//! * Nodes: [`NODE_READY`], [`NODE_NOT_READY`] (Ready Unknown, unreachable taints) and
//!   [`NODE_CORDONED`] (unschedulable, MemoryPressure True, kubelet 1.28).
//! * Events (`v1`): BackOff twice per crashing api pod (the same reason and message: to
//!   deduplicate), Pulled, ScalingReplicaSet ×4, FailedScheduling (batch-pending, worker-1),
//!   ProvisioningFailed, OOMKilling (on the cordoned node, namespace `default`, from the
//!   kernel monitor as node-problem-detector reports it), NodeNotReady (node and its aws-node
//!   pod), BackoffLimitExceeded.
//! * Logs: the api pods' previous (= current, as the kubelet serves a crash-looping
//!   container's last instance) log ends `panic: connect to postgres: password authentication
//!   failed for user "api"` and has a line with [`LOG_AWS_KEY`] and [`LOG_PASSWORD`].
//!
//! Canaries that must never reach a tool's answer: [`DB_PASSWORD`] (an env value of
//! `prod/worker-0` and of the StatefulSet, also inside its `last-applied-configuration`
//! annotation) and [`SECRET_VALUE`] (Secret `prod/api-db`).
//!
//! As on a real cluster, listing in a namespace that does not exist answers 200 with no items
//! (only `GET /api/v1/namespaces/<ns>` says `namespaces "<ns>" not found`), so a client that
//! must tell a typo from an empty namespace has to ask for the namespace. Not served: watch,
//! `follow` on logs (the log so far is answered), Table/protobuf answers, resources other than
//! those above (404), anonymous requests.
//!
//! Tokens are checked as EKS checks them (see the script's docstring): a presigned STS
//! `GetCallerIdentity` URL for [`KubernetesApi::region`], signed with one of the known
//! credentials (the SigV4 verifier's, or the `testing` ones every function process and
//! `Moto::sdk_config_for` use) and naming the cluster in `x-k8s-aws-id`. Why a token was
//! refused is in [`KubernetesApi::logs`].

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use aws_credential_types::{Credentials, provider::SharedCredentialsProvider};
use rustls::pki_types::{CertificateDer, pem::PemObject};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::{
    Result,
    process::ServerProcess,
    stack_file, venv,
    verifier::{ACCESS_KEY, SECRET_KEY},
};

/// The node that is Ready.
pub const NODE_READY: &str = "ip-10-0-1-10.eu-west-1.compute.internal";
/// The node whose kubelet stopped reporting (Ready Unknown).
pub const NODE_NOT_READY: &str = "ip-10-0-2-20.eu-west-1.compute.internal";
/// The cordoned node under memory pressure.
pub const NODE_CORDONED: &str = "ip-10-0-3-30.eu-west-1.compute.internal";
/// The `DB_PASSWORD` value in `prod/worker`'s pod spec and annotation.
pub const DB_PASSWORD: &str = "wk-7Q2p9Lx4-db-canary";
/// The `password` of Secret `prod/api-db` (decoded; the object holds it in base64).
pub const SECRET_VALUE: &str = "k8s-secret-canary-5f0c2a9d";
/// The fake AWS access key in the api pods' previous log.
pub const LOG_AWS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
/// The `password=` value in the same line.
pub const LOG_PASSWORD: &str = "hunter2";
/// The last line of the api pods' previous log.
pub const API_CRASH: &str =
    "panic: connect to postgres: password authentication failed for user \"api\"";

/// What the double is told through `control.json`.
#[derive(Debug, Default)]
struct Control {
    reject_before: Option<u64>,
    forbid: Vec<String>,
    continue_generation: u64,
}

/// A running Kubernetes API double.
#[derive(Debug)]
pub struct KubernetesApi {
    process: ServerProcess,
    url: String,
    cluster: String,
    region: String,
    ca_pem: String,
    other_ca_pem: String,
    control: Mutex<Control>,
    dir: TempDir,
}

impl KubernetesApi {
    /// Starts the double for EKS cluster `cluster` (the name tokens must be presigned for),
    /// taking tokens presigned against `sts.<region>.amazonaws.com`, with a new test CA.
    pub fn start(cluster: &str, region: &str) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("k8s-").tempdir()?;
        let certs = make_certificates(dir.path())?;
        let mut command = Command::new(venv()?.join("bin/python"));
        command
            .arg(stack_file("k8s_double.py"))
            .args(["--cluster", cluster, "--region", region])
            .args([
                "--credential",
                crate::verifier::ACCESS_KEY,
                crate::verifier::SECRET_KEY,
                crate::verifier::SESSION_TOKEN,
            ])
            .args([
                "--credential",
                "testing",
                crate::canary::AWS_SECRET_ACCESS_KEY,
                crate::canary::AWS_SESSION_TOKEN,
            ])
            .arg("--cert")
            .arg(&certs.server_cert)
            .arg("--key")
            .arg(&certs.server_key)
            .arg("--fixtures")
            .arg(stack_file("k8s_fixtures.json"))
            .arg("--state-dir")
            .arg(dir.path());
        let (process, port) = ServerProcess::spawn_announcing(
            "kubernetes api double",
            &mut command,
            &dir.path().join("double.log"),
        )?;
        Ok(Self {
            process,
            url: format!("https://127.0.0.1:{port}"),
            cluster: cluster.to_owned(),
            region: region.to_owned(),
            ca_pem: std::fs::read_to_string(&certs.ca)?,
            other_ca_pem: std::fs::read_to_string(&certs.other_ca)?,
            control: Mutex::new(Control::default()),
            dir,
        })
    }

    /// Base URL, `https://127.0.0.1:<port>` (the certificate names `127.0.0.1` and
    /// `localhost`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The cluster name tokens must carry.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// The region of the STS endpoint tokens must be presigned for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The CA certificate (PEM) that signed the server's certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// [`Self::ca_pem`] base64-encoded, as EKS's `certificateAuthority.data`.
    pub fn ca_base64(&self) -> String {
        aws_smithy_types::base64::encode(self.ca_pem.as_bytes())
    }

    /// Another CA's certificate (PEM), unrelated to the server's: see [`Self::other_ca_base64`].
    pub fn other_ca_pem(&self) -> &str {
        &self.other_ca_pem
    }

    /// Another CA (the same subject, `CN=kubernetes`, as every EKS cluster's, but another
    /// key), base64 PEM: a client trusting it must refuse the server.
    pub fn other_ca_base64(&self) -> String {
        aws_smithy_types::base64::encode(self.other_ca_pem.as_bytes())
    }

    /// An EKS token for `cluster` (this double's [`Self::cluster`] for one it takes), presigned
    /// now for [`Self::region`] with the SigV4 verifier's credentials by `common::sigv4`, as
    /// k8s-info presigns: for tests that call the double themselves.
    pub async fn token(&self, cluster: &str) -> Result<String> {
        let signer = common::sigv4::RequestSigner::new(
            SharedCredentialsProvider::new(Credentials::new(
                ACCESS_KEY, SECRET_KEY, None, None, "verifier",
            )),
            self.region.as_str(),
            "sts",
        );
        let url = format!(
            "https://sts.{}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
            self.region
        );
        let presigned = signer
            .presign(
                &url,
                &[("x-k8s-aws-id", cluster)],
                Duration::from_secs(60),
                SystemTime::now(),
            )
            .await
            .map_err(|e| e.message)?;
        Ok(token_of(&presigned))
    }

    /// A client trusting this double's CA and nothing else, offering HTTP/2 and HTTP/1.1 as
    /// k8s-info's does (the double answers in HTTP/1.1).
    pub fn client(&self) -> Result<reqwest::Client> {
        client_trusting(&self.ca_pem)
    }

    /// GETs `target` (path and query) with a fresh [`Self::token`] for this cluster: the
    /// status and the body.
    pub async fn get(&self, target: &str) -> Result<(u16, String)> {
        let response = self
            .client()?
            .get(format!("{}{target}", self.url))
            .bearer_auth(self.token(&self.cluster).await?)
            .send()
            .await?;
        Ok((response.status().as_u16(), response.text().await?))
    }

    /// Every request answered so far, in order, as `METHOD /path?query` with the query as sent
    /// (still percent-encoded), refused ones included.
    pub fn requests(&self) -> Vec<String> {
        self.requests_with_status()
            .into_iter()
            .map(|(request, _)| request)
            .collect()
    }

    /// [`Self::requests`] with the status each was answered with.
    pub fn requests_with_status(&self) -> Vec<(String, u16)> {
        let text =
            std::fs::read_to_string(self.dir.path().join("requests.jsonl")).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .map(|entry| {
                let method = entry["method"].as_str().unwrap_or_default();
                let path = entry["path"].as_str().unwrap_or_default();
                let query = entry["query"].as_str().unwrap_or_default();
                let target = if query.is_empty() {
                    path.to_owned()
                } else {
                    format!("{path}?{query}")
                };
                let status = entry["status"].as_u64().unwrap_or_default() as u16;
                (format!("{method} {target}"), status)
            })
            .collect()
    }

    /// Refuses (401) every token presigned before now, as a cluster does once a token has
    /// expired, while tokens presigned after this returns are taken: a client that renews its
    /// token on a 401 gets through, one that does not fails. X-Amz-Date has whole seconds, so
    /// this waits for the next second to begin (at most one second).
    pub async fn reject_tokens_before_now(&self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let cut = now.as_secs() + 1;
        self.update(|c| c.reject_before = Some(cut));
        let wait = Duration::from_secs(cut).saturating_sub(now);
        tokio::time::sleep(wait + Duration::from_millis(5)).await;
    }

    /// Answers 403 Forbidden, worded as RBAC words it, for every path starting with
    /// `path_prefix` (e.g. `/api/v1/namespaces/prod/pods/api-5f6a8e-x1/log`, or
    /// `/apis/apps/v1/` for the whole group). Authentication is still checked first.
    pub fn forbid(&self, path_prefix: &str) {
        self.update(|c| c.forbid.push(path_prefix.to_owned()));
    }

    /// Undoes every [`Self::forbid`].
    pub fn allow_all(&self) {
        self.update(|c| c.forbid.clear());
    }

    /// Makes every `continue` token handed out so far expire: using one is answered 410 Gone
    /// (reason `Expired`), as when etcd has compacted past it.
    pub fn expire_continue_tokens(&self) {
        self.update(|c| c.continue_generation += 1);
    }

    /// Why requests were refused (401 reasons, with the canonical request on a signature
    /// mismatch) and Python tracebacks, if any.
    pub fn logs(&self) -> String {
        self.process.logs()
    }

    /// Writes `control.json` anew (atomically: the double reads it on every request).
    fn update(&self, change: impl FnOnce(&mut Control)) {
        let mut control = self.control.lock().unwrap();
        change(&mut control);
        let body = json!({
            "reject_before": control.reject_before,
            "forbid": control.forbid,
            "continue_generation": control.continue_generation,
        });
        let tmp = self.dir.path().join("control.json.tmp");
        std::fs::write(&tmp, body.to_string()).expect("the double's control file is written");
        std::fs::rename(&tmp, self.dir.path().join("control.json"))
            .expect("the double's control file is replaced");
    }
}

/// `k8s-aws-v1.` and the unpadded base64url of a presigned URL: an EKS token.
pub fn token_of(presigned_url: &str) -> String {
    let encoded = aws_smithy_types::base64::encode(presigned_url.as_bytes())
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_");
    format!("k8s-aws-v1.{encoded}")
}

/// A reqwest client (rustls on ring) whose only trust anchors are the certificates of
/// `ca_pem`.
pub fn client_trusting(ca_pem: &str) -> Result<reqwest::Client> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert?)?;
    }
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(Duration::from_secs(3))
        .build()?)
}

/// Files of one start's PKI.
struct Certificates {
    ca: PathBuf,
    other_ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
}

/// The OpenSSL configuration: a CA as EKS makes one (`CN=kubernetes`), and a server
/// certificate for `127.0.0.1` and `localhost`.
const OPENSSL_CONFIG: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = kubernetes
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, keyEncipherment, keyCertSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost, DNS:kubernetes, DNS:kubernetes.default.svc
authorityKeyIdentifier = keyid
";

/// A test CA, an unrelated second CA and a server certificate signed by the first, made with
/// the `openssl` CLI (P-256 keys: quick to generate).
fn make_certificates(dir: &Path) -> Result<Certificates> {
    let config = dir.join("openssl.cnf");
    std::fs::write(&config, OPENSSL_CONFIG)?;
    let file = |name: &str| dir.join(name);
    let new_key = ["-newkey", "ec", "-nodes"];
    let p256 = ["-pkeyopt", "ec_paramgen_curve:prime256v1"];
    for (cert, key) in [("ca.pem", "ca.key"), ("other-ca.pem", "other-ca.key")] {
        openssl(
            Command::new("openssl")
                .args(["req", "-x509", "-days", "2", "-extensions", "ca"])
                .args(["-subj", "/CN=kubernetes"])
                .args(new_key)
                .args(p256)
                .arg("-config")
                .arg(&config)
                .arg("-keyout")
                .arg(file(key))
                .arg("-out")
                .arg(file(cert)),
        )?;
    }
    openssl(
        Command::new("openssl")
            .args(["req", "-new", "-subj", "/CN=kube-apiserver"])
            .args(new_key)
            .args(p256)
            .arg("-config")
            .arg(&config)
            .arg("-keyout")
            .arg(file("server.key"))
            .arg("-out")
            .arg(file("server.csr")),
    )?;
    let serial = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
        ^ u128::from(std::process::id()) << 64;
    openssl(
        Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-extensions", "server"])
            .args(["-set_serial", &format!("0x{serial:x}")])
            .arg("-extfile")
            .arg(&config)
            .arg("-in")
            .arg(file("server.csr"))
            .arg("-CA")
            .arg(file("ca.pem"))
            .arg("-CAkey")
            .arg(file("ca.key"))
            .arg("-out")
            .arg(file("server.pem")),
    )?;
    Ok(Certificates {
        ca: file("ca.pem"),
        other_ca: file("other-ca.pem"),
        server_cert: file("server.pem"),
        server_key: file("server.key"),
    })
}

fn openssl(command: &mut Command) -> Result<()> {
    let output = command
        .output()
        .map_err(|e| format!("the openssl CLI could not be run (is it installed?): {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(())
}
