//! `eks-info`: read-only facts about the EKS clusters in the function's own account and
//! region, and a health verdict an operator can act on.
//!
//! Input (docs/contract.md §2.7): `action` is one of
//! * `list_clusters`: each cluster's name, status and version (ListClusters, then
//!   DescribeCluster for each, a few at a time);
//! * `describe_cluster`: version, status, endpoint, platform version, networking, logging,
//!   tags and health issues, without the certificate authority data;
//! * `list_nodegroups` / `describe_nodegroup`: scaling, instance types, AMI and capacity type,
//!   version, labels, taints, health issues;
//! * `list_addons`: each add-on's version, status and health issues;
//! * `list_fargate_profiles`: each profile's status, selectors and subnets;
//! * `cluster_health`: the cluster, its node groups, add-ons and Fargate profiles gathered in
//!   parallel and judged by [`health`]'s rules.
//!
//! `cluster_name` (`^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$`) is required for all but
//! `list_clusters`; `nodegroup_name` for `describe_nodegroup`; `max_results` (1–100, default
//! 100) applies to the list actions. A field that does not apply to the action is rejected,
//! so a caller never believes a filter was applied when it was not.
//!
//! The region is the function's own (its SDK configuration); the answers say which, and no
//! input can change it, so an answer never claims a region the calls did not use.
//!
//! Each EKS call gets the smaller of [`CALL_TIMEOUT`] and the Lambda's remaining time; the
//! SDK's standard retries (throttling, 5xx) run inside that budget. AWS errors map to the
//! envelope: ResourceNotFoundException → `NOT_FOUND` naming the cluster, access denied →
//! `ACCESS_DENIED`, throttling → `THROTTLED`.

pub mod health;
pub mod view;

use std::{future::Future, time::Duration};

use aws_sdk_eks::{
    error::{ProvideErrorMetadata, SdkError},
    operation::{
        list_addons::ListAddonsOutput, list_clusters::ListClustersOutput,
        list_fargate_profiles::ListFargateProfilesOutput, list_nodegroups::ListNodegroupsOutput,
    },
};
use common::{Deadline, ErrorCode, Handler, Invocation, ToolError};
use futures_util::{StreamExt, stream};
use serde::{Deserialize, Serialize};

use crate::{
    health::{Check, Gathered, Overall},
    view::{
        AddonDetail, ClusterDetail, ClusterSummary, Entry, FargateProfileDetail, NodegroupDetail,
    },
};

/// Largest `max_results`, and EKS's own page limit.
pub const MAX_RESULTS: u32 = 100;
/// How many Describe calls run at once for a list: enough to answer 100 entries in a few
/// round trips, few enough to stay clear of EKS's per-account request rate.
pub const DESCRIBE_CONCURRENCY: usize = 8;
/// Timeout of one EKS call (retries included), before the deadline cuts it shorter.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest node group name EKS accepts.
pub const MAX_NODEGROUP_NAME: usize = 63;
/// Longest cluster name EKS accepts.
pub const MAX_CLUSTER_NAME: usize = 100;
/// Most pages read for one list: a server that keeps sending tokens cannot keep us busy.
const MAX_PAGES: usize = 200;

const SERVICE: &str = "Amazon EKS";

/// What to look up.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Clusters with version and status.
    ListClusters,
    /// One cluster in detail.
    DescribeCluster,
    /// A cluster's managed node groups, described.
    ListNodegroups,
    /// One node group in detail.
    DescribeNodegroup,
    /// A cluster's add-ons, described.
    ListAddons,
    /// A cluster's Fargate profiles, described.
    ListFargateProfiles,
    /// Everything above for one cluster, judged.
    ClusterHealth,
}

impl Action {
    /// The action as the caller spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ListClusters => "list_clusters",
            Self::DescribeCluster => "describe_cluster",
            Self::ListNodegroups => "list_nodegroups",
            Self::DescribeNodegroup => "describe_nodegroup",
            Self::ListAddons => "list_addons",
            Self::ListFargateProfiles => "list_fargate_profiles",
            Self::ClusterHealth => "cluster_health",
        }
    }
}

/// The function's input.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EksInput {
    /// What to look up.
    pub action: Action,
    /// The cluster (all actions but `list_clusters`).
    #[serde(default)]
    pub cluster_name: Option<String>,
    /// The node group (`describe_nodegroup`).
    #[serde(default)]
    pub nodegroup_name: Option<String>,
    /// Most entries a list action returns.
    #[serde(default)]
    pub max_results: Option<u32>,
}

/// `[0-9A-Za-z][A-Za-z0-9_-]{0,max-1}`: EKS's rule for cluster and node group names.
fn valid_name(name: &str, max: usize) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= max
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
}

/// A list of one kind of a cluster's parts, each described.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Nodegroups,
    Addons,
    FargateProfiles,
}

/// A validated request: one variant per action, with exactly the fields that action uses.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Request {
    ListClusters {
        max_results: usize,
    },
    DescribeCluster {
        cluster: String,
    },
    DescribeNodegroup {
        cluster: String,
        nodegroup: String,
    },
    ListParts {
        cluster: String,
        part: Part,
        max_results: usize,
    },
    ClusterHealth {
        cluster: String,
    },
}

impl EksInput {
    /// Checks the fields in a fixed order (cluster, node group, `max_results`), so the first
    /// problem named is always the same one: a field the action does not use is refused, a
    /// name must follow EKS's rules, `max_results` must be in range.
    fn check(self) -> Result<Request, ToolError> {
        let EksInput {
            action,
            cluster_name,
            nodegroup_name,
            max_results,
        } = self;
        let refuse =
            |field: &str, given: bool| ToolError::refuse_if_given(given, field, action.as_str());
        let cluster = |name: Option<String>| match name {
            None => Err(ToolError::invalid_input(format!(
                "cluster_name is required for {}",
                action.as_str()
            ))),
            Some(name) if !valid_name(&name, MAX_CLUSTER_NAME) => {
                Err(ToolError::invalid_input(format!(
                    "cluster_name must match ^[0-9A-Za-z][A-Za-z0-9_-]{{0,99}}$ (1 to {MAX_CLUSTER_NAME} characters)"
                )))
            }
            Some(name) => Ok(name),
        };
        let count = |max: Option<u32>| match max {
            Some(n) if !(1..=MAX_RESULTS).contains(&n) => Err(ToolError::invalid_input(format!(
                "max_results must be between 1 and {MAX_RESULTS}, got {n}"
            ))),
            Some(n) => Ok(n as usize),
            None => Ok(MAX_RESULTS as usize),
        };
        let list = |part, cluster_name, nodegroup_name: Option<String>, max_results| {
            let cluster = cluster(cluster_name)?;
            refuse("nodegroup_name", nodegroup_name.is_some())?;
            Ok(Request::ListParts {
                cluster,
                part,
                max_results: count(max_results)?,
            })
        };
        match action {
            Action::ListClusters => {
                refuse("cluster_name", cluster_name.is_some())?;
                refuse("nodegroup_name", nodegroup_name.is_some())?;
                Ok(Request::ListClusters {
                    max_results: count(max_results)?,
                })
            }
            Action::DescribeCluster | Action::ClusterHealth => {
                let cluster = cluster(cluster_name)?;
                refuse("nodegroup_name", nodegroup_name.is_some())?;
                refuse("max_results", max_results.is_some())?;
                Ok(if action == Action::DescribeCluster {
                    Request::DescribeCluster { cluster }
                } else {
                    Request::ClusterHealth { cluster }
                })
            }
            Action::DescribeNodegroup => {
                let cluster = cluster(cluster_name)?;
                let nodegroup = match nodegroup_name {
                    None => {
                        return Err(ToolError::invalid_input(
                            "nodegroup_name is required for describe_nodegroup",
                        ));
                    }
                    Some(name) if !valid_name(&name, MAX_NODEGROUP_NAME) => {
                        return Err(ToolError::invalid_input(format!(
                            "nodegroup_name must match ^[0-9A-Za-z][A-Za-z0-9_-]{{0,62}}$ (1 to {MAX_NODEGROUP_NAME} characters)"
                        )));
                    }
                    Some(name) => name,
                };
                refuse("max_results", max_results.is_some())?;
                Ok(Request::DescribeNodegroup { cluster, nodegroup })
            }
            Action::ListNodegroups => {
                list(Part::Nodegroups, cluster_name, nodegroup_name, max_results)
            }
            Action::ListAddons => list(Part::Addons, cluster_name, nodegroup_name, max_results),
            Action::ListFargateProfiles => list(
                Part::FargateProfiles,
                cluster_name,
                nodegroup_name,
                max_results,
            ),
        }
    }
}

/// `list_clusters`.
#[derive(Debug, Serialize)]
pub struct ClusterList {
    /// `list_clusters`.
    pub action: &'static str,
    /// The region the calls went to.
    pub region: String,
    /// The clusters, in EKS's order.
    pub clusters: Vec<Entry<ClusterSummary>>,
    /// How many are listed here.
    pub count: usize,
    /// Whether `max_results` stopped the listing before EKS's last page.
    pub truncated: bool,
    /// With no cluster: that only this region was looked at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// `describe_cluster`.
#[derive(Debug, Serialize)]
pub struct ClusterAnswer {
    /// `describe_cluster`.
    pub action: &'static str,
    /// The region the call went to.
    pub region: String,
    /// The cluster.
    pub cluster: ClusterDetail,
}

/// `describe_nodegroup`.
#[derive(Debug, Serialize)]
pub struct NodegroupAnswer {
    /// `describe_nodegroup`.
    pub action: &'static str,
    /// The region the call went to.
    pub region: String,
    /// The cluster.
    pub cluster_name: String,
    /// The node group.
    pub nodegroup: NodegroupDetail,
}

/// `list_nodegroups`, `list_addons`, `list_fargate_profiles`: one of the three lists.
#[derive(Debug, Serialize)]
pub struct ClusterPartList {
    /// The action performed.
    pub action: &'static str,
    /// The region the calls went to.
    pub region: String,
    /// The cluster.
    pub cluster_name: String,
    /// `list_nodegroups`: the node groups.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodegroups: Option<Vec<Entry<NodegroupDetail>>>,
    /// `list_addons`: the add-ons.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addons: Option<Vec<Entry<AddonDetail>>>,
    /// `list_fargate_profiles`: the profiles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fargate_profiles: Option<Vec<Entry<FargateProfileDetail>>>,
    /// How many are listed here.
    pub count: usize,
    /// Whether `max_results` stopped the listing before EKS's last page.
    pub truncated: bool,
}

/// `cluster_health` (docs/contract.md §2.7, plus `action` and `region`).
#[derive(Debug, Serialize)]
pub struct HealthReport {
    /// `cluster_health`.
    pub action: &'static str,
    /// The region the calls went to.
    pub region: String,
    /// The cluster.
    pub cluster_name: String,
    /// The cluster's status (null when it could not be read).
    pub status: Option<String>,
    /// The cluster's Kubernetes version (null when it could not be read).
    pub version: Option<String>,
    /// The findings.
    pub checks: Vec<Check>,
    /// The verdict.
    pub overall: Overall,
}

/// The function's output: one shape per action.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum EksOutput {
    /// `list_clusters`.
    Clusters(ClusterList),
    /// `describe_cluster`.
    Cluster(Box<ClusterAnswer>),
    /// `describe_nodegroup`.
    Nodegroup(Box<NodegroupAnswer>),
    /// `list_nodegroups`, `list_addons`, `list_fargate_profiles`.
    Parts(ClusterPartList),
    /// `cluster_health`.
    Health(HealthReport),
}

/// The handler. The EKS client is built on the first request (not before the runtime's
/// first poll) from the process-wide SDK configuration, or handed in by a test.
#[derive(Debug)]
pub struct EksInfo {
    client: tokio::sync::OnceCell<aws_sdk_eks::Client>,
    /// Entries asked of EKS per list page (at most 100). Tests lower it to make a handful of
    /// fixtures span several pages.
    pub page_size: u32,
}

impl Default for EksInfo {
    fn default() -> Self {
        Self::new()
    }
}

impl EksInfo {
    /// A handler whose client comes from [`common::aws::sdk_config`] on first use.
    pub fn new() -> Self {
        Self {
            client: tokio::sync::OnceCell::new(),
            page_size: MAX_RESULTS,
        }
    }

    /// A handler using `client`.
    pub fn with_client(client: aws_sdk_eks::Client) -> Self {
        Self {
            client: tokio::sync::OnceCell::new_with(Some(client)),
            page_size: MAX_RESULTS,
        }
    }

    async fn client(&self) -> &aws_sdk_eks::Client {
        self.client
            .get_or_init(|| async { aws_sdk_eks::Client::new(common::aws::sdk_config().await) })
            .await
    }
}

/// One EKS call inside the deadline, its error mapped to the envelope. `subject` names what
/// a ResourceNotFoundException is about ("cluster `prod`").
async fn call<T, E>(
    deadline: &Deadline,
    region: &str,
    subject: impl FnOnce() -> String,
    request: impl Future<Output = Result<T, SdkError<E, aws_sdk_eks::config::http::HttpResponse>>>,
) -> Result<T, ToolError>
where
    E: ProvideErrorMetadata + std::error::Error,
{
    let result = common::aws::bounded(deadline, SERVICE, CALL_TIMEOUT, request).await?;
    result.map_err(|e| {
        let mut error = ToolError::from_sdk(SERVICE, &e);
        if error.code == ErrorCode::NotFound {
            error.message = format!("{} was not found in region {region}", subject());
        }
        error
    })
}

/// Reads names page by page until `max` are collected or EKS has no more. Returns the names
/// and whether more may exist.
async fn collect_names<F, Fut>(
    max: usize,
    page_size: u32,
    mut page: F,
) -> Result<(Vec<String>, bool), ToolError>
where
    F: FnMut(Option<String>, i32) -> Fut,
    Fut: Future<Output = Result<(Vec<String>, Option<String>), ToolError>>,
{
    let mut names = Vec::new();
    let mut token = None;
    for _ in 0..MAX_PAGES {
        let want = (max - names.len()).min(page_size.clamp(1, MAX_RESULTS) as usize);
        let (got, next) = page(token.take(), want as i32).await?;
        let room = max - names.len();
        let overflow = got.len() > room;
        names.extend(got.into_iter().take(room));
        match next.filter(|t| !t.is_empty()) {
            Some(next) if names.len() < max => token = Some(next),
            Some(_) => return Ok((names, true)),
            None => return Ok((names, overflow)),
        }
    }
    Err(ToolError::new(
        ErrorCode::UpstreamError,
        format!("{SERVICE} kept paginating past {MAX_PAGES} pages"),
    ))
}

/// Describes every name, [`DESCRIBE_CONCURRENCY`] at a time, keeping EKS's order.
async fn describe_each<T, Fut>(
    names: Vec<String>,
    describe: impl Fn(String) -> Fut,
) -> Vec<Entry<T>>
where
    Fut: Future<Output = Result<T, ToolError>>,
{
    stream::iter(names)
        .map(|name| {
            let described = describe(name.clone());
            async move { Entry::new(&name, described.await) }
        })
        .buffered(DESCRIBE_CONCURRENCY)
        .collect()
        .await
}

/// The calls of one request: client, region, deadline.
struct Calls<'a> {
    eks: &'a aws_sdk_eks::Client,
    region: &'a str,
    deadline: &'a Deadline,
    page_size: u32,
}

impl Calls<'_> {
    fn cluster_subject(cluster: &str) -> impl Fn() -> String + Sync + '_ {
        move || format!("cluster `{cluster}`")
    }

    async fn describe_cluster(&self, cluster: &str) -> Result<ClusterDetail, ToolError> {
        let out = call(
            self.deadline,
            self.region,
            Self::cluster_subject(cluster),
            self.eks.describe_cluster().name(cluster).send(),
        )
        .await?;
        out.cluster()
            .map(|c| ClusterDetail::from_sdk(cluster, c))
            .ok_or_else(|| missing("DescribeCluster", "cluster"))
    }

    async fn describe_nodegroup(
        &self,
        cluster: &str,
        nodegroup: &str,
    ) -> Result<NodegroupDetail, ToolError> {
        let out = call(
            self.deadline,
            self.region,
            || format!("node group `{nodegroup}` of cluster `{cluster}`"),
            self.eks
                .describe_nodegroup()
                .cluster_name(cluster)
                .nodegroup_name(nodegroup)
                .send(),
        )
        .await?;
        out.nodegroup()
            .map(|n| NodegroupDetail::from_sdk(nodegroup, n))
            .ok_or_else(|| missing("DescribeNodegroup", "nodegroup"))
    }

    /// Every list action: names page by page (`page` sends one ListX request, `names` reads
    /// its answer), then each name described ([`describe_each`]), in EKS's order. `subject`
    /// names what a ResourceNotFoundException is about.
    async fn list_then_describe<T, Out, E, P, D>(
        &self,
        max: usize,
        subject: &(dyn Fn() -> String + Sync),
        page: impl Fn(Option<String>, i32) -> P,
        names: impl Fn(&Out) -> (&[String], Option<&str>),
        describe: impl Fn(String) -> D,
    ) -> Result<(Vec<Entry<T>>, bool), ToolError>
    where
        P: Future<Output = Result<Out, SdkError<E, aws_sdk_eks::config::http::HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error,
        D: Future<Output = Result<T, ToolError>>,
    {
        let names = &names;
        // Boxed: each list nests an SDK request future per page and per description, and
        // `cluster_health` runs four lists at once; inline, that state overflows a 2 MB
        // thread stack in a debug build.
        let (listed, truncated) = Box::pin(collect_names(max, self.page_size, |token, size| {
            let request = page(token, size);
            async move {
                let out = call(self.deadline, self.region, subject, request).await?;
                let (listed, next) = names(&out);
                Ok((listed.to_vec(), next.map(str::to_owned)))
            }
        }))
        .await?;
        Ok((Box::pin(describe_each(listed, describe)).await, truncated))
    }

    async fn list_clusters(
        &self,
        max: usize,
    ) -> Result<(Vec<Entry<ClusterSummary>>, bool), ToolError> {
        self.list_then_describe(
            max,
            &|| "the cluster list".to_owned(),
            |token, size| {
                self.eks
                    .list_clusters()
                    .set_next_token(token)
                    .max_results(size)
                    .send()
            },
            |out: &ListClustersOutput| (out.clusters(), out.next_token()),
            |name| async move { self.describe_cluster(&name).await.map(|c| c.summary()) },
        )
        .await
    }

    async fn list_nodegroups(
        &self,
        cluster: &str,
        max: usize,
    ) -> Result<(Vec<Entry<NodegroupDetail>>, bool), ToolError> {
        self.list_then_describe(
            max,
            &Self::cluster_subject(cluster),
            |token, size| {
                self.eks
                    .list_nodegroups()
                    .cluster_name(cluster)
                    .set_next_token(token)
                    .max_results(size)
                    .send()
            },
            |out: &ListNodegroupsOutput| (out.nodegroups(), out.next_token()),
            |name| async move { self.describe_nodegroup(cluster, &name).await },
        )
        .await
    }

    async fn list_addons(
        &self,
        cluster: &str,
        max: usize,
    ) -> Result<(Vec<Entry<AddonDetail>>, bool), ToolError> {
        self.list_then_describe(
            max,
            &Self::cluster_subject(cluster),
            |token, size| {
                self.eks
                    .list_addons()
                    .cluster_name(cluster)
                    .set_next_token(token)
                    .max_results(size)
                    .send()
            },
            |out: &ListAddonsOutput| (out.addons(), out.next_token()),
            |name| async move {
                let out = call(
                    self.deadline,
                    self.region,
                    || format!("add-on `{name}` of cluster `{cluster}`"),
                    self.eks
                        .describe_addon()
                        .cluster_name(cluster)
                        .addon_name(&name)
                        .send(),
                )
                .await?;
                out.addon()
                    .map(|a| AddonDetail::from_sdk(&name, a))
                    .ok_or_else(|| missing("DescribeAddon", "addon"))
            },
        )
        .await
    }

    async fn list_fargate_profiles(
        &self,
        cluster: &str,
        max: usize,
    ) -> Result<(Vec<Entry<FargateProfileDetail>>, bool), ToolError> {
        self.list_then_describe(
            max,
            &Self::cluster_subject(cluster),
            |token, size| {
                self.eks
                    .list_fargate_profiles()
                    .cluster_name(cluster)
                    .set_next_token(token)
                    .max_results(size)
                    .send()
            },
            |out: &ListFargateProfilesOutput| (out.fargate_profile_names(), out.next_token()),
            |name| async move {
                let out = call(
                    self.deadline,
                    self.region,
                    || format!("Fargate profile `{name}` of cluster `{cluster}`"),
                    self.eks
                        .describe_fargate_profile()
                        .cluster_name(cluster)
                        .fargate_profile_name(&name)
                        .send(),
                )
                .await?;
                out.fargate_profile()
                    .map(|f| FargateProfileDetail::from_sdk(&name, f))
                    .ok_or_else(|| missing("DescribeFargateProfile", "fargateProfile"))
            },
        )
        .await
    }

    /// The four parts of `cluster_health`, read concurrently. Only "no such cluster" fails
    /// the whole answer (or every part failing: then nothing was checked).
    async fn cluster_health(&self, cluster: &str) -> Result<HealthReport, ToolError> {
        let max = MAX_RESULTS as usize;
        let (described, nodegroups, addons, fargate_profiles) = tokio::join!(
            self.describe_cluster(cluster),
            self.list_nodegroups(cluster, max),
            self.list_addons(cluster, max),
            self.list_fargate_profiles(cluster, max),
        );
        if let Err(e) = &described
            && (e.code == ErrorCode::NotFound
                || (nodegroups.is_err() && addons.is_err() && fargate_profiles.is_err()))
        {
            return Err(e.clone());
        }
        let gathered = Gathered {
            cluster: described,
            nodegroups: nodegroups.map(|(entries, _)| entries),
            addons: addons.map(|(entries, _)| entries),
            fargate_profiles: fargate_profiles.map(|(entries, _)| entries),
        };
        let checks = health::checks(&gathered);
        let cluster_detail = gathered.cluster.as_ref().ok();
        Ok(HealthReport {
            action: Action::ClusterHealth.as_str(),
            region: self.region.to_owned(),
            cluster_name: cluster.to_owned(),
            status: cluster_detail.and_then(|c| c.status.clone()),
            version: cluster_detail.and_then(|c| c.version.clone()),
            overall: health::overall(&checks),
            checks,
        })
    }
}

fn missing(operation: &str, field: &str) -> ToolError {
    ToolError::new(
        ErrorCode::UpstreamError,
        format!("{SERVICE} answered {operation} without a {field}"),
    )
}

impl Handler for EksInfo {
    const NAME: &'static str = "eks_info";
    type Input = EksInput;
    type Output = EksOutput;

    async fn handle(
        &self,
        input: EksInput,
        invocation: &Invocation,
    ) -> Result<EksOutput, ToolError> {
        let request = input.check()?;
        let eks = self.client().await;
        let region = eks
            .config()
            .region()
            .map(|r| r.as_ref().to_owned())
            .ok_or_else(|| ToolError::config("no AWS region is configured (set AWS_REGION)"))?;
        let calls = Calls {
            eks,
            region: &region,
            deadline: &invocation.deadline,
            page_size: self.page_size,
        };
        // Boxed, as the lists are: this future holds every action's.
        match Box::pin(answer(&calls, request.clone())).await {
            Err(e) if e.code == ErrorCode::NotFound => {
                Err(Box::pin(calls.with_suggestions(&request, e)).await)
            }
            other => other,
        }
    }
}

/// Most names a "not found" suggests.
const SUGGESTIONS: usize = 10;

/// The names of `all` to offer for `given`: those containing it in any case, or failing that
/// the first few of all.
fn suggestions<'a>(given: &str, all: &'a [String]) -> (bool, Vec<&'a str>) {
    let needle = given.to_lowercase();
    let near: Vec<&str> = all
        .iter()
        .filter(|n| n.to_lowercase().contains(&needle))
        .take(SUGGESTIONS)
        .map(String::as_str)
        .collect();
    if near.is_empty() {
        (
            false,
            all.iter().take(SUGGESTIONS).map(String::as_str).collect(),
        )
    } else {
        (true, near)
    }
}

impl Calls<'_> {
    /// A "not found" with the names that do exist: EKS names are exact and case-sensitive, and
    /// a bare "not found" reads as "there is none" when the caller misspelt one
    /// (`Prod-EU`, `prod`). Reading them is a help: if it fails, the error stays as it was.
    async fn with_suggestions(&self, request: &Request, mut error: ToolError) -> ToolError {
        let cluster = match request {
            Request::ListClusters { .. } => return error,
            Request::DescribeCluster { cluster }
            | Request::ClusterHealth { cluster }
            | Request::ListParts { cluster, .. }
            | Request::DescribeNodegroup { cluster, .. } => cluster,
        };
        // A node group not found may be a cluster not found: EKS says the same for both.
        let cluster_exists = match request {
            Request::DescribeNodegroup { .. } => match self.describe_cluster(cluster).await {
                Ok(_) => true,
                Err(e) if e.code == ErrorCode::NotFound => {
                    error.message = format!(
                        "cluster `{cluster}` was not found in region {}",
                        self.region
                    );
                    false
                }
                Err(_) => return error,
            },
            _ => false,
        };
        if let (true, Request::DescribeNodegroup { nodegroup, .. }) = (cluster_exists, request) {
            let listed = collect_names(MAX_RESULTS as usize, self.page_size, |token, size| {
                let request = self
                    .eks
                    .list_nodegroups()
                    .cluster_name(cluster)
                    .set_next_token(token)
                    .max_results(size)
                    .send();
                async move {
                    let out = call(self.deadline, self.region, String::new, request).await?;
                    Ok((
                        out.nodegroups().to_vec(),
                        out.next_token().map(str::to_owned),
                    ))
                }
            })
            .await;
            match listed {
                Ok((all, _)) => {
                    error.message.push_str(&match suggestions(nodegroup, &all) {
                        (true, near) => format!(
                            "; names are exact and case-sensitive: node groups whose names contain it: {}",
                            near.join(", ")
                        ),
                        (false, some) if !some.is_empty() => {
                            format!("; the cluster's node groups: {}", some.join(", "))
                        }
                        _ => "; the cluster has no managed node group".to_owned(),
                    });
                    return error;
                }
                Err(_) => return error,
            }
        }
        let Ok((all, _)) = collect_names(MAX_RESULTS as usize, self.page_size, |token, size| {
            let request = self
                .eks
                .list_clusters()
                .set_next_token(token)
                .max_results(size)
                .send();
            async move {
                let out = call(self.deadline, self.region, String::new, request).await?;
                Ok((out.clusters().to_vec(), out.next_token().map(str::to_owned)))
            }
        })
        .await
        else {
            return error;
        };
        error.message.push_str(&match suggestions(cluster, &all) {
            (true, near) => format!(
                "; names are exact and case-sensitive: clusters whose names contain it: {}",
                near.join(", ")
            ),
            (false, some) if !some.is_empty() => {
                format!("; the clusters there: {}", some.join(", "))
            }
            _ => format!("; there is no EKS cluster in region {}", self.region),
        });
        error
    }
}

/// The answer to a checked request.
async fn answer(calls: &Calls<'_>, request: Request) -> Result<EksOutput, ToolError> {
    let region = || calls.region.to_owned();
    {
        Ok(match request {
            Request::ListClusters { max_results } => {
                let (clusters, truncated) = calls.list_clusters(max_results).await?;
                EksOutput::Clusters(ClusterList {
                    action: Action::ListClusters.as_str(),
                    region: region(),
                    hint: clusters.is_empty().then(|| {
                        format!(
                            "no EKS cluster in region {}: this function sees its own account and region only",
                            calls.region
                        )
                    }),
                    count: clusters.len(),
                    clusters,
                    truncated,
                })
            }
            Request::DescribeCluster { cluster } => EksOutput::Cluster(Box::new(ClusterAnswer {
                action: Action::DescribeCluster.as_str(),
                region: region(),
                cluster: calls.describe_cluster(&cluster).await?,
            })),
            Request::DescribeNodegroup { cluster, nodegroup } => {
                EksOutput::Nodegroup(Box::new(NodegroupAnswer {
                    action: Action::DescribeNodegroup.as_str(),
                    region: region(),
                    nodegroup: calls.describe_nodegroup(&cluster, &nodegroup).await?,
                    cluster_name: cluster,
                }))
            }
            Request::ListParts {
                cluster,
                part,
                max_results,
            } => {
                let (mut nodegroups, mut addons, mut fargate_profiles) = (None, None, None);
                let (action, count, truncated) = match part {
                    Part::Nodegroups => {
                        let (entries, truncated) =
                            calls.list_nodegroups(&cluster, max_results).await?;
                        let count = entries.len();
                        nodegroups = Some(entries);
                        (Action::ListNodegroups, count, truncated)
                    }
                    Part::Addons => {
                        let (entries, truncated) = calls.list_addons(&cluster, max_results).await?;
                        let count = entries.len();
                        addons = Some(entries);
                        (Action::ListAddons, count, truncated)
                    }
                    Part::FargateProfiles => {
                        let (entries, truncated) =
                            calls.list_fargate_profiles(&cluster, max_results).await?;
                        let count = entries.len();
                        fargate_profiles = Some(entries);
                        (Action::ListFargateProfiles, count, truncated)
                    }
                };
                EksOutput::Parts(ClusterPartList {
                    action: action.as_str(),
                    region: region(),
                    cluster_name: cluster,
                    nodegroups,
                    addons,
                    fargate_profiles,
                    count,
                    truncated,
                })
            }
            Request::ClusterHealth { cluster } => {
                EksOutput::Health(calls.cluster_health(&cluster).await?)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_the_names_containing_it_in_any_case_else_a_few_of_all() {
        let all: Vec<String> = ["prod-eu", "prod-us", "staging"]
            .map(str::to_owned)
            .to_vec();
        assert_eq!(
            suggestions("PROD", &all),
            (true, vec!["prod-eu", "prod-us"])
        );
        assert_eq!(
            suggestions("dev", &all),
            (false, vec!["prod-eu", "prod-us", "staging"])
        );
        assert_eq!(suggestions("dev", &[]), (false, vec![]));
    }

    #[test]
    fn the_input_type_accepts_exactly_the_schema_the_model_gets() {
        common::tools::conforms::<EksInput>(&common::tools::EKS_INFO).unwrap();
    }

    fn input(v: serde_json::Value) -> Result<Request, ToolError> {
        serde_json::from_value::<EksInput>(v)
            .map_err(|e| ToolError::invalid_input(e.to_string()))?
            .check()
    }

    #[test]
    fn names_follow_eks_rules() {
        assert!(valid_name("prod-eu_1", 100) && valid_name("0", 100));
        assert!(valid_name(&"a".repeat(100), 100) && !valid_name(&"a".repeat(101), 100));
        for bad in ["", "-lead", "_lead", "has space", "dot.ted", "ünï", "a/b"] {
            assert!(!valid_name(bad, 100), "{bad}");
        }
    }

    #[test]
    fn fields_are_checked_per_action() {
        use serde_json::json;
        assert_eq!(
            input(json!({"action": "list_clusters"})).unwrap(),
            Request::ListClusters { max_results: 100 }
        );
        let cases = [
            (
                json!({"action": "list_clusters", "cluster_name": "a"}),
                "cluster_name does not apply to list_clusters",
            ),
            (
                json!({"action": "describe_cluster"}),
                "cluster_name is required for describe_cluster",
            ),
            (
                json!({"action": "describe_cluster", "cluster_name": "bad name"}),
                "cluster_name must match",
            ),
            (
                json!({"action": "describe_nodegroup", "cluster_name": "a"}),
                "nodegroup_name is required",
            ),
            (
                json!({"action": "describe_nodegroup", "cluster_name": "a", "nodegroup_name": "x".repeat(64)}),
                "nodegroup_name must match",
            ),
            (
                json!({"action": "list_nodegroups", "cluster_name": "a", "nodegroup_name": "n"}),
                "nodegroup_name does not apply to list_nodegroups",
            ),
            (
                json!({"action": "cluster_health", "cluster_name": "a", "max_results": 5}),
                "max_results does not apply to cluster_health",
            ),
            (
                json!({"action": "list_addons", "cluster_name": "a", "max_results": 0}),
                "max_results must be between 1 and 100, got 0",
            ),
            (
                json!({"action": "list_addons", "cluster_name": "a", "max_results": 101}),
                "max_results must be between 1 and 100, got 101",
            ),
        ];
        for (case, message) in cases {
            let e = input(case.clone()).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidInput);
            assert!(e.message.contains(message), "{case}: {}", e.message);
        }
    }

    #[test]
    fn each_action_becomes_its_request() {
        use serde_json::json;
        let cluster = || "prod-eu".to_owned();
        let cases = [
            (
                json!({"action": "describe_cluster", "cluster_name": "prod-eu"}),
                Request::DescribeCluster { cluster: cluster() },
            ),
            (
                json!({"action": "cluster_health", "cluster_name": "prod-eu"}),
                Request::ClusterHealth { cluster: cluster() },
            ),
            (
                json!({"action": "describe_nodegroup", "cluster_name": "prod-eu", "nodegroup_name": "ng-1"}),
                Request::DescribeNodegroup {
                    cluster: cluster(),
                    nodegroup: "ng-1".to_owned(),
                },
            ),
            (
                json!({"action": "list_nodegroups", "cluster_name": "prod-eu", "max_results": 7}),
                Request::ListParts {
                    cluster: cluster(),
                    part: Part::Nodegroups,
                    max_results: 7,
                },
            ),
            (
                json!({"action": "list_addons", "cluster_name": "prod-eu"}),
                Request::ListParts {
                    cluster: cluster(),
                    part: Part::Addons,
                    max_results: 100,
                },
            ),
            (
                json!({"action": "list_fargate_profiles", "cluster_name": "prod-eu", "max_results": 1}),
                Request::ListParts {
                    cluster: cluster(),
                    part: Part::FargateProfiles,
                    max_results: 1,
                },
            ),
        ];
        for (case, request) in cases {
            assert_eq!(input(case.clone()).unwrap(), request, "{case}");
        }
    }

    #[tokio::test]
    async fn describes_run_at_most_the_bound_at_once_and_keep_eks_order() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (now, max) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let names: Vec<String> = (0..20).map(|i| format!("c{i:02}")).collect();
        let described = describe_each(names.clone(), |name| {
            let (now, max) = (&now, &max);
            async move {
                let in_flight = now.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(in_flight, Ordering::SeqCst);
                for _ in 0..3 {
                    tokio::task::yield_now().await;
                }
                now.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, ToolError>(name)
            }
        })
        .await;
        assert_eq!(max.load(Ordering::SeqCst), DESCRIBE_CONCURRENCY);
        let order: Vec<String> = described
            .into_iter()
            .map(|e| match e {
                Entry::Described(n) => n,
                Entry::Failed { name, .. } => panic!("{name} failed"),
            })
            .collect();
        assert_eq!(order, names);
    }

    #[tokio::test]
    async fn pages_are_followed_until_max_or_the_end() {
        let all: Vec<String> = (0..7).map(|i| format!("c{i}")).collect();
        // A fake EKS page source: names after the token, `page` at a time.
        let source = |token: Option<String>, page: i32| {
            let all = all.clone();
            async move {
                let start = token.map_or(0, |t| all.iter().position(|n| *n == t).unwrap());
                let end = (start + page as usize).min(all.len());
                Ok((all[start..end].to_vec(), all.get(end).cloned()))
            }
        };
        assert_eq!(
            collect_names(100, 3, source).await.unwrap(),
            (all.clone(), false)
        );
        let (names, truncated) = collect_names(5, 2, source).await.unwrap();
        assert_eq!((names.len(), truncated), (5, true));
        assert_eq!(
            collect_names(7, 100, source).await.unwrap(),
            (all.clone(), false)
        );
        // A server that ignores maxResults and sends more: cut, and said so.
        let greedy = |_t: Option<String>, _p: i32| {
            let all = all.clone();
            async move { Ok((all, None)) }
        };
        assert!(collect_names(4, 2, greedy).await.unwrap().1);
        // A server that never stops paginating.
        let endless =
            |_t: Option<String>, _p: i32| async { Ok((vec![], Some("again".to_owned()))) };
        assert_eq!(
            collect_names(4, 2, endless).await.unwrap_err().code,
            ErrorCode::UpstreamError
        );
    }
}
