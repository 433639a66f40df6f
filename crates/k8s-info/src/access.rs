//! Reaching an EKS cluster's Kubernetes API from a Lambda, with no kubeconfig, exec plugin
//! or `aws` binary:
//!
//! 1. `eks:DescribeCluster` gives the API server's endpoint and the cluster's CA
//!    (`certificateAuthority.data`, base64 PEM). Both are cached per cluster for the life of
//!    the process, with a TLS client that trusts that CA and nothing else: a server that
//!    presents any other certificate, public ones included, is refused.
//! 2. The bearer token is EKS's IAM token ([`token`]): a presigned STS
//!    `GetCallerIdentity` URL naming the cluster in a signed `x-k8s-aws-id` header. STS takes
//!    it for 15 minutes; it is renewed after [`TOKEN_LIFETIME`], and once more on a 401
//!    before the request is retried.
//! 3. Requests are GETs only ([`Clusters::get_json`], [`Clusters::get_text`],
//!    [`Clusters::list`]), each inside the deadline's budget, retried on retryable failures.
//!
//! Authorization is the cluster's: a 401 or 403 is `ACCESS_DENIED` saying what the
//! function's role lacks (an access entry with `AmazonEKSViewPolicy`), never the token. An
//! endpoint the function cannot reach (a private endpoint outside its VPC) is `UNAVAILABLE`
//! saying so.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use aws_sdk_eks::error::ProvideErrorMetadata;
use common::{
    Deadline, ErrorCode, ToolError,
    retry::{Backoff, with_retries},
    sigv4::RequestSigner,
};
use serde_json::Value;

/// How long a token is used before a new one is made (STS accepts one for 15 minutes).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(600);
/// Timeout of one request to the API server or EKS, before the deadline cuts it shorter.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest JSON answer read from the API server.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;
/// Most pages one list reads.
pub const MAX_PAGES: usize = 20;
/// Largest page asked for.
pub const PAGE_SIZE: usize = 500;

/// EKS's bearer tokens.
pub mod token {
    use std::time::{Duration, SystemTime};

    use common::{ToolError, sigv4::RequestSigner};

    /// How long the presigned URL says it is valid (STS ignores more than 15 minutes).
    pub const PRESIGN_EXPIRES: Duration = Duration::from_secs(60);

    /// `k8s-aws-v1.` + unpadded base64url of the presigned
    /// `https://sts.<region>.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15` with
    /// `x-k8s-aws-id: <cluster>` among the signed headers. The result is a credential.
    pub async fn make(
        signer: &RequestSigner,
        cluster: &str,
        time: SystemTime,
    ) -> Result<String, ToolError> {
        let url = format!(
            "https://sts.{}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
            signer.region()
        );
        let presigned = signer
            .presign(&url, &[("x-k8s-aws-id", cluster)], PRESIGN_EXPIRES, time)
            .await?;
        let encoded = aws_smithy_types::base64::encode(presigned.as_bytes())
            .trim_end_matches('=')
            .replace('+', "-")
            .replace('/', "_");
        Ok(format!("k8s-aws-v1.{encoded}"))
    }
}

/// One cluster: its API server and a client trusting only its CA.
pub struct Cluster {
    /// The EKS cluster name.
    pub name: String,
    endpoint: String,
    http: reqwest::Client,
    token: tokio::sync::Mutex<Option<(String, Instant)>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// Every cluster the process has reached, and the clients to reach more.
pub struct Clusters {
    eks: tokio::sync::OnceCell<aws_sdk_eks::Client>,
    signer: tokio::sync::OnceCell<RequestSigner>,
    known: Mutex<HashMap<String, Arc<Cluster>>>,
    page_size: usize,
}

impl std::fmt::Debug for Clusters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clusters").finish_non_exhaustive()
    }
}

impl Default for Clusters {
    fn default() -> Self {
        Self::new()
    }
}

impl Clusters {
    /// Clients built on first use from the process's SDK configuration.
    pub fn new() -> Self {
        Self {
            eks: tokio::sync::OnceCell::new(),
            signer: tokio::sync::OnceCell::new(),
            known: Mutex::new(HashMap::new()),
            page_size: PAGE_SIZE,
        }
    }

    /// With pages of at most `page_size` items (tests make lists span several pages).
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.clamp(1, PAGE_SIZE);
        self
    }

    /// With the EKS client and token signer given (tests point them at moto and known
    /// credentials).
    pub fn with_clients(eks: aws_sdk_eks::Client, signer: RequestSigner) -> Self {
        Self {
            eks: tokio::sync::OnceCell::new_with(Some(eks)),
            signer: tokio::sync::OnceCell::new_with(Some(signer)),
            known: Mutex::new(HashMap::new()),
            page_size: PAGE_SIZE,
        }
    }

    async fn eks(&self) -> &aws_sdk_eks::Client {
        self.eks
            .get_or_init(|| async { aws_sdk_eks::Client::new(common::aws::sdk_config().await) })
            .await
    }

    async fn signer(&self) -> Result<&RequestSigner, ToolError> {
        self.signer
            .get_or_try_init(|| async {
                RequestSigner::from_sdk_config(common::aws::sdk_config().await, "sts", None)
            })
            .await
    }

    /// The cluster, described once per process.
    pub async fn cluster(
        &self,
        name: &str,
        deadline: &Deadline,
    ) -> Result<Arc<Cluster>, ToolError> {
        if let Some(known) = self
            .known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
        {
            return Ok(known.clone());
        }
        let budget = deadline.budget(REQUEST_TIMEOUT)?;
        let described = tokio::time::timeout(
            budget,
            self.eks().await.describe_cluster().name(name).send(),
        )
        .await
        .map_err(|_| {
            ToolError::new(
                ErrorCode::UpstreamTimeout,
                "EKS did not describe the cluster in time",
            )
        })?
        .map_err(|e| {
            if e.code() == Some("ResourceNotFoundException") {
                ToolError::new(
                    ErrorCode::NotFound,
                    format!(
                        "cluster {name} does not exist in this function's region (names are exact and case-sensitive; eks_info's list_clusters names them)"
                    ),
                )
            } else {
                ToolError::from_sdk("EKS", &e)
            }
        })?;
        let cluster = described
            .cluster()
            .ok_or_else(|| ToolError::new(ErrorCode::UpstreamError, "EKS described no cluster"))?;
        let endpoint = cluster
            .endpoint()
            .filter(|e| e.starts_with("https://"))
            .ok_or_else(|| {
                ToolError::new(
                    ErrorCode::Unavailable,
                    format!(
                        "cluster {name} has no API server endpoint yet (is it still being created?)"
                    ),
                )
            })?
            .trim_end_matches('/')
            .to_owned();
        let ca = cluster
            .certificate_authority()
            .and_then(|a| a.data())
            .ok_or_else(|| {
                ToolError::new(
                    ErrorCode::UpstreamError,
                    format!("EKS gave no certificate authority for cluster {name}"),
                )
            })?;
        let http = client_trusting(name, ca)?;
        let cluster = Arc::new(Cluster {
            name: name.to_owned(),
            endpoint,
            http,
            token: tokio::sync::Mutex::new(None),
        });
        self.known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned(), cluster.clone());
        Ok(cluster)
    }

    async fn token(&self, cluster: &Cluster, renew: bool) -> Result<String, ToolError> {
        let mut held = cluster.token.lock().await;
        if let Some((token, made)) = held.as_ref()
            && !renew
            && made.elapsed() < TOKEN_LIFETIME
        {
            return Ok(token.clone());
        }
        let token = token::make(self.signer().await?, &cluster.name, SystemTime::now()).await?;
        *held = Some((token.clone(), Instant::now()));
        Ok(token)
    }

    /// One GET: the status and body, the token renewed once on a 401.
    async fn send(
        &self,
        cluster: &Cluster,
        path_and_query: &str,
        deadline: &Deadline,
        max_bytes: usize,
    ) -> Result<(u16, Vec<u8>), ToolError> {
        let mut renew = false;
        loop {
            let budget = deadline.budget(REQUEST_TIMEOUT)?;
            let token = self.token(cluster, renew).await?;
            let mut response = cluster
                .http
                .get(format!("{}{path_and_query}", cluster.endpoint))
                .bearer_auth(token)
                .timeout(budget)
                .send()
                .await
                .map_err(|e| reach_error(cluster, &e))?;
            let status = response.status().as_u16();
            if status == 401 && !renew {
                renew = true;
                continue;
            }
            let body =
                common::http::read_capped(&mut response, "the Kubernetes API", max_bytes).await?;
            return Ok((status, body));
        }
    }

    /// GETs `path?query` and parses the JSON answer, with retries; non-2xx answers become the
    /// envelope (see [`api_error`]).
    pub async fn get_json(
        &self,
        cluster: &Cluster,
        path: &str,
        query: &[(&str, &str)],
        deadline: &Deadline,
    ) -> Result<Value, ToolError> {
        let target = common::http::path_with_query(path, query);
        with_retries(&Backoff::UPSTREAM, deadline, |_| async {
            let (status, body) = self
                .send(cluster, &target, deadline, MAX_ANSWER_BYTES)
                .await?;
            if !(200..300).contains(&status) {
                return Err(api_error(cluster, status, &body));
            }
            serde_json::from_slice(&body).map_err(|_| {
                ToolError::new(
                    ErrorCode::UpstreamError,
                    "the Kubernetes API answered with something that is not JSON",
                )
            })
        })
        .await
    }

    /// GETs `path?query` as text (logs), reading at most `max_bytes`.
    pub async fn get_text(
        &self,
        cluster: &Cluster,
        path: &str,
        query: &[(&str, &str)],
        deadline: &Deadline,
        max_bytes: usize,
    ) -> Result<String, ToolError> {
        let target = common::http::path_with_query(path, query);
        with_retries(&Backoff::UPSTREAM, deadline, |_| async {
            let (status, body) = self.send(cluster, &target, deadline, max_bytes).await?;
            if !(200..300).contains(&status) {
                return Err(api_error(cluster, status, &body));
            }
            Ok(String::from_utf8_lossy(&body).into_owned())
        })
        .await
    }

    /// The items of a list, paging with `limit`/`continue`, keeping those `keep` accepts,
    /// until `max` are kept, the list ends, or [`MAX_PAGES`] were read. Returns the items and
    /// whether more exist than were returned.
    pub async fn list(
        &self,
        cluster: &Cluster,
        path: &str,
        query: &[(&str, &str)],
        max: usize,
        deadline: &Deadline,
        keep: impl Fn(&Value) -> bool,
    ) -> Result<(Vec<Value>, bool), ToolError> {
        let mut items = Vec::new();
        let mut token = String::new();
        for _ in 0..MAX_PAGES {
            let limit = (max + 1 - items.len().min(max))
                .clamp(1, self.page_size)
                .to_string();
            let mut page_query: Vec<(&str, &str)> = query.to_vec();
            page_query.push(("limit", &limit));
            if !token.is_empty() {
                page_query.push(("continue", &token));
            }
            let page = self.get_json(cluster, path, &page_query, deadline).await?;
            if let Some(list) = page["items"].as_array() {
                items.extend(list.iter().filter(|i| keep(i)).cloned());
            }
            token = page["metadata"]["continue"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if items.len() > max {
                items.truncate(max);
                return Ok((items, true));
            }
            if token.is_empty() {
                return Ok((items, false));
            }
            if items.len() == max {
                return Ok((items, true));
            }
        }
        Ok((items, true))
    }
}

/// One request's view of one cluster: the clients, the cluster and the deadline, so the
/// actions ask for paths and nothing else.
#[derive(Debug, Clone, Copy)]
pub struct ClusterApi<'a> {
    /// The clients.
    pub clusters: &'a Clusters,
    /// The cluster.
    pub cluster: &'a Cluster,
    /// The invocation's deadline.
    pub deadline: &'a Deadline,
}

impl ClusterApi<'_> {
    /// See [`Clusters::get_json`].
    pub async fn get_json(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, ToolError> {
        self.clusters
            .get_json(self.cluster, path, query, self.deadline)
            .await
    }

    /// See [`Clusters::get_text`].
    pub async fn get_text(
        &self,
        path: &str,
        query: &[(&str, &str)],
        max_bytes: usize,
    ) -> Result<String, ToolError> {
        self.clusters
            .get_text(self.cluster, path, query, self.deadline, max_bytes)
            .await
    }

    /// See [`Clusters::list`].
    pub async fn list(
        &self,
        path: &str,
        query: &[(&str, &str)],
        max: usize,
        keep: impl Fn(&Value) -> bool,
    ) -> Result<(Vec<Value>, bool), ToolError> {
        self.clusters
            .list(self.cluster, path, query, max, self.deadline, keep)
            .await
    }
}

/// A client for one cluster: rustls on ring, trusting only the cluster's CA (`ca_base64`:
/// base64 of one or more PEM certificates).
fn client_trusting(cluster: &str, ca_base64: &str) -> Result<reqwest::Client, ToolError> {
    let bad_ca = || {
        ToolError::new(
            ErrorCode::UpstreamError,
            format!(
                "EKS gave a certificate authority for cluster {cluster} that is not a PEM certificate"
            ),
        )
    };
    let pem = aws_smithy_types::base64::decode(ca_base64.trim()).map_err(|_| bad_ca())?;
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    for cert in CertificateDer::pem_slice_iter(&pem) {
        roots
            .add(cert.map_err(|_| bad_ca())?)
            .map_err(|_| bad_ca())?;
    }
    if roots.is_empty() {
        return Err(bad_ca());
    }
    common::http::client_trusting(
        concat!("devops-agent-k8s-info/", env!("CARGO_PKG_VERSION")),
        roots,
    )
}

/// A failure to reach the API server, said in the cluster's terms.
fn reach_error(cluster: &Cluster, e: &reqwest::Error) -> ToolError {
    let mut error = ToolError::from_reqwest("the Kubernetes API", e);
    if error.code == ErrorCode::Unavailable {
        error.message = format!(
            "the API server of cluster {} is not reachable from the function ({}); a private endpoint needs the function in the cluster's VPC, and a certificate not signed by the cluster's CA is refused",
            cluster.name, error.message
        );
    }
    error
}

/// A non-2xx answer as the envelope, with the API's own `Status` message where it helps the
/// caller (`pods "x" not found`), and what the function's role lacks for 401/403.
pub fn api_error(cluster: &Cluster, status: u16, body: &[u8]) -> ToolError {
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(|m| common::text::clean(m, 300)))
        .unwrap_or_default();
    match status {
        401 => ToolError::new(
            ErrorCode::AccessDenied,
            format!(
                "cluster {} did not accept the function's IAM identity: it needs an EKS access entry for the function's role",
                cluster.name
            ),
        ),
        403 => ToolError::new(
            ErrorCode::AccessDenied,
            format!(
                "cluster {} refused the request ({message}): the function's role needs the AmazonEKSViewPolicy access policy on its access entry",
                cluster.name
            ),
        ),
        404 if !message.is_empty() => ToolError::new(ErrorCode::NotFound, message),
        400 | 422 if !message.is_empty() => ToolError::invalid_input(message),
        410 => ToolError {
            code: ErrorCode::UpstreamError,
            message: "the list changed while it was being read; ask again".into(),
            retryable: true,
        },
        _ => ToolError::upstream_status("the Kubernetes API", status),
    }
}
