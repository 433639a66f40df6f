//! What the function tells about clusters, node groups, add-ons and Fargate profiles: AWS's
//! field names in snake_case, read-only facts an operator (or a model) can act on.
//!
//! These types are the output schema, so they are written out rather than derived from the
//! SDK's: adding a field to the SDK never adds one to our answers by accident. Left out on
//! purpose: the cluster's certificate authority data, client request tokens, add-on
//! configuration values (user-supplied, may hold anything) and remote-access key names.

use std::collections::BTreeMap;

use aws_sdk_eks::types as eks;
use aws_smithy_types::{DateTime, date_time::Format};
use serde::Serialize;

/// An issue AWS reports on a cluster, node group, add-on or Fargate profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthIssue {
    /// AWS's issue code, e.g. `AsgInstanceLaunchFailures`.
    pub code: String,
    /// AWS's description.
    pub message: String,
    /// The resources concerned (instance ids, subnet ids, …).
    pub resource_ids: Vec<String>,
}

/// The SDK's four issue types (cluster, node group, add-on, Fargate profile) have the same
/// fields with different code enums; this reads any of them.
trait SdkIssue {
    fn parts(&self) -> (Option<&str>, Option<&str>, &[String]);
}

macro_rules! sdk_issue {
    ($($issue:ty),*) => {$(
        impl SdkIssue for $issue {
            fn parts(&self) -> (Option<&str>, Option<&str>, &[String]) {
                (self.code().map(|c| c.as_str()), self.message(), self.resource_ids())
            }
        }
    )*};
}

sdk_issue!(
    eks::ClusterIssue,
    eks::Issue,
    eks::AddonIssue,
    eks::FargateProfileIssue
);

/// The health issues of a described resource (none when it has no health block).
fn issues<I: SdkIssue>(list: Option<&[I]>) -> Vec<HealthIssue> {
    list.unwrap_or_default()
        .iter()
        .map(|i| {
            let (code, message, resource_ids) = i.parts();
            HealthIssue {
                code: code.unwrap_or("Unknown").to_owned(),
                message: message.unwrap_or_default().to_owned(),
                resource_ids: resource_ids.to_vec(),
            }
        })
        .collect()
}

/// One line of `list_clusters`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterSummary {
    /// Cluster name.
    pub name: String,
    /// `ACTIVE`, `CREATING`, `UPDATING`, `DELETING`, `FAILED`, `PENDING`.
    pub status: Option<String>,
    /// Kubernetes version, e.g. `1.30`.
    pub version: Option<String>,
    /// EKS platform version, e.g. `eks.12`.
    pub platform_version: Option<String>,
}

/// The cluster's network settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Networking {
    /// VPC id.
    pub vpc_id: Option<String>,
    /// Subnets of the control plane's network interfaces.
    pub subnet_ids: Vec<String>,
    /// Extra security groups.
    pub security_group_ids: Vec<String>,
    /// The security group EKS created for the cluster.
    pub cluster_security_group_id: Option<String>,
    /// Whether the API server endpoint is reachable from the internet.
    pub endpoint_public_access: bool,
    /// Whether it is reachable from inside the VPC.
    pub endpoint_private_access: bool,
    /// CIDRs allowed to reach the public endpoint.
    pub public_access_cidrs: Vec<String>,
    /// Service CIDR (IPv4).
    pub service_ipv4_cidr: Option<String>,
    /// Service CIDR (IPv6).
    pub service_ipv6_cidr: Option<String>,
    /// `ipv4` or `ipv6`.
    pub ip_family: Option<String>,
}

/// `describe_cluster`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterDetail {
    /// Cluster name.
    pub name: String,
    /// Cluster ARN.
    pub arn: Option<String>,
    /// Cluster status.
    pub status: Option<String>,
    /// Kubernetes version.
    pub version: Option<String>,
    /// EKS platform version.
    pub platform_version: Option<String>,
    /// The Kubernetes API server's URL.
    pub endpoint: Option<String>,
    /// RFC 3339.
    pub created_at: Option<String>,
    /// The cluster's IAM role.
    pub role_arn: Option<String>,
    /// VPC and service networking.
    pub networking: Networking,
    /// Control-plane log types shipped to CloudWatch.
    pub logging_enabled: Vec<String>,
    /// Control-plane log types not shipped.
    pub logging_disabled: Vec<String>,
    /// The OIDC issuer (for IAM roles for service accounts).
    pub oidc_issuer: Option<String>,
    /// `API`, `API_AND_CONFIG_MAP` or `CONFIG_MAP`.
    pub authentication_mode: Option<String>,
    /// `STANDARD` or `EXTENDED` support.
    pub support_type: Option<String>,
    /// Issues AWS reports on the cluster.
    pub health_issues: Vec<HealthIssue>,
    /// Tags, sorted by key.
    pub tags: BTreeMap<String, String>,
}

impl ClusterDetail {
    /// The short form of `list_clusters`.
    pub fn summary(&self) -> ClusterSummary {
        ClusterSummary {
            name: self.name.clone(),
            status: self.status.clone(),
            version: self.version.clone(),
            platform_version: self.platform_version.clone(),
        }
    }
}

/// A node group's size limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Scaling {
    /// Fewest nodes.
    pub min_size: Option<i32>,
    /// Most nodes.
    pub max_size: Option<i32>,
    /// Nodes wanted now.
    pub desired_size: Option<i32>,
}

/// A node taint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Taint {
    /// Key.
    pub key: Option<String>,
    /// Value.
    pub value: Option<String>,
    /// `NO_SCHEDULE`, `NO_EXECUTE`, `PREFER_NO_SCHEDULE`.
    pub effect: Option<String>,
}

/// `describe_nodegroup`, and each entry of `list_nodegroups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodegroupDetail {
    /// Node group name.
    pub name: String,
    /// Node group ARN.
    pub arn: Option<String>,
    /// `ACTIVE`, `DEGRADED`, `CREATING`, `UPDATING`, `DELETING`, `CREATE_FAILED`,
    /// `DELETE_FAILED`.
    pub status: Option<String>,
    /// Kubernetes version of the nodes.
    pub version: Option<String>,
    /// AMI release version.
    pub release_version: Option<String>,
    /// `ON_DEMAND`, `SPOT` or `CAPACITY_BLOCK`.
    pub capacity_type: Option<String>,
    /// AMI type, e.g. `AL2023_x86_64_STANDARD`.
    pub ami_type: Option<String>,
    /// Instance types.
    pub instance_types: Vec<String>,
    /// Size limits.
    pub scaling: Scaling,
    /// Root volume size in GiB (unset with a launch template).
    pub disk_size: Option<i32>,
    /// Subnets.
    pub subnets: Vec<String>,
    /// Kubernetes labels of the nodes, sorted by key.
    pub labels: BTreeMap<String, String>,
    /// Kubernetes taints of the nodes.
    pub taints: Vec<Taint>,
    /// The Auto Scaling groups behind the node group.
    pub auto_scaling_groups: Vec<String>,
    /// Issues AWS reports on the node group.
    pub health_issues: Vec<HealthIssue>,
    /// RFC 3339.
    pub created_at: Option<String>,
    /// RFC 3339.
    pub modified_at: Option<String>,
    /// Tags, sorted by key.
    pub tags: BTreeMap<String, String>,
}

/// Each entry of `list_addons`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddonDetail {
    /// Add-on name, e.g. `vpc-cni`.
    pub name: String,
    /// Add-on version, e.g. `v1.18.3-eksbuild.2`.
    pub version: Option<String>,
    /// `ACTIVE`, `DEGRADED`, `CREATING`, `UPDATING`, `DELETING`, `CREATE_FAILED`,
    /// `UPDATE_FAILED`, `DELETE_FAILED`.
    pub status: Option<String>,
    /// Issues AWS reports on the add-on.
    pub health_issues: Vec<HealthIssue>,
    /// The IAM role of its service account.
    pub service_account_role_arn: Option<String>,
    /// RFC 3339.
    pub created_at: Option<String>,
    /// RFC 3339.
    pub modified_at: Option<String>,
}

/// A Fargate profile selector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Selector {
    /// Namespace.
    pub namespace: Option<String>,
    /// Pod labels, sorted by key.
    pub labels: BTreeMap<String, String>,
}

/// Each entry of `list_fargate_profiles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FargateProfileDetail {
    /// Profile name.
    pub name: String,
    /// `ACTIVE`, `CREATING`, `DELETING`, `CREATE_FAILED`, `DELETE_FAILED`.
    pub status: Option<String>,
    /// Which pods run on Fargate.
    pub selectors: Vec<Selector>,
    /// Subnets.
    pub subnets: Vec<String>,
    /// The pods' execution role.
    pub pod_execution_role_arn: Option<String>,
    /// Issues AWS reports on the profile.
    pub health_issues: Vec<HealthIssue>,
    /// RFC 3339.
    pub created_at: Option<String>,
}

fn time(t: Option<&DateTime>) -> Option<String> {
    t.and_then(|t| t.fmt(Format::DateTime).ok())
}

fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_owned)
}

fn sorted(map: Option<&std::collections::HashMap<String, String>>) -> BTreeMap<String, String> {
    map.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

impl ClusterDetail {
    /// From DescribeCluster's answer; `name` is what was asked, in case AWS omits it.
    pub fn from_sdk(name: &str, c: &eks::Cluster) -> Self {
        let vpc = c.resources_vpc_config();
        let net = c.kubernetes_network_config();
        let (mut logging_enabled, mut logging_disabled) = (Vec::new(), Vec::new());
        for setup in c.logging().map(|l| l.cluster_logging()).unwrap_or_default() {
            let into = if setup.enabled().unwrap_or(false) {
                &mut logging_enabled
            } else {
                &mut logging_disabled
            };
            into.extend(setup.types().iter().map(|t| t.as_str().to_owned()));
        }
        Self {
            name: c.name().unwrap_or(name).to_owned(),
            arn: owned(c.arn()),
            status: c.status().map(|s| s.as_str().to_owned()),
            version: owned(c.version()),
            platform_version: owned(c.platform_version()),
            endpoint: owned(c.endpoint()),
            created_at: time(c.created_at()),
            role_arn: owned(c.role_arn()),
            networking: Networking {
                vpc_id: owned(vpc.and_then(|v| v.vpc_id())),
                subnet_ids: vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default(),
                security_group_ids: vpc
                    .map(|v| v.security_group_ids().to_vec())
                    .unwrap_or_default(),
                cluster_security_group_id: owned(vpc.and_then(|v| v.cluster_security_group_id())),
                endpoint_public_access: vpc.is_some_and(|v| v.endpoint_public_access()),
                endpoint_private_access: vpc.is_some_and(|v| v.endpoint_private_access()),
                public_access_cidrs: vpc
                    .map(|v| v.public_access_cidrs().to_vec())
                    .unwrap_or_default(),
                service_ipv4_cidr: owned(net.and_then(|n| n.service_ipv4_cidr())),
                service_ipv6_cidr: owned(net.and_then(|n| n.service_ipv6_cidr())),
                ip_family: net
                    .and_then(|n| n.ip_family())
                    .map(|f| f.as_str().to_owned()),
            },
            logging_enabled,
            logging_disabled,
            oidc_issuer: owned(c.identity().and_then(|i| i.oidc()).and_then(|o| o.issuer())),
            authentication_mode: c
                .access_config()
                .and_then(|a| a.authentication_mode())
                .map(|m| m.as_str().to_owned()),
            support_type: c
                .upgrade_policy()
                .and_then(|u| u.support_type())
                .map(|s| s.as_str().to_owned()),
            health_issues: issues(c.health().map(|h| h.issues())),
            tags: sorted(c.tags()),
        }
    }
}

impl NodegroupDetail {
    /// From DescribeNodegroup's answer.
    pub fn from_sdk(name: &str, n: &eks::Nodegroup) -> Self {
        let scaling = n.scaling_config();
        Self {
            name: n.nodegroup_name().unwrap_or(name).to_owned(),
            arn: owned(n.nodegroup_arn()),
            status: n.status().map(|s| s.as_str().to_owned()),
            version: owned(n.version()),
            release_version: owned(n.release_version()),
            capacity_type: n.capacity_type().map(|c| c.as_str().to_owned()),
            ami_type: n.ami_type().map(|a| a.as_str().to_owned()),
            instance_types: n.instance_types().to_vec(),
            scaling: Scaling {
                min_size: scaling.and_then(|s| s.min_size()),
                max_size: scaling.and_then(|s| s.max_size()),
                desired_size: scaling.and_then(|s| s.desired_size()),
            },
            disk_size: n.disk_size(),
            subnets: n.subnets().to_vec(),
            labels: sorted(n.labels()),
            taints: n
                .taints()
                .iter()
                .map(|t| Taint {
                    key: owned(t.key()),
                    value: owned(t.value()),
                    effect: t.effect().map(|e| e.as_str().to_owned()),
                })
                .collect(),
            auto_scaling_groups: n
                .resources()
                .map(|r| r.auto_scaling_groups())
                .unwrap_or_default()
                .iter()
                .filter_map(|g| owned(g.name()))
                .collect(),
            health_issues: issues(n.health().map(|h| h.issues())),
            created_at: time(n.created_at()),
            modified_at: time(n.modified_at()),
            tags: sorted(n.tags()),
        }
    }
}

impl AddonDetail {
    /// From DescribeAddon's answer.
    pub fn from_sdk(name: &str, a: &eks::Addon) -> Self {
        Self {
            name: a.addon_name().unwrap_or(name).to_owned(),
            version: owned(a.addon_version()),
            status: a.status().map(|s| s.as_str().to_owned()),
            health_issues: issues(a.health().map(|h| h.issues())),
            service_account_role_arn: owned(a.service_account_role_arn()),
            created_at: time(a.created_at()),
            modified_at: time(a.modified_at()),
        }
    }
}

impl FargateProfileDetail {
    /// From DescribeFargateProfile's answer.
    pub fn from_sdk(name: &str, f: &eks::FargateProfile) -> Self {
        Self {
            name: f.fargate_profile_name().unwrap_or(name).to_owned(),
            status: f.status().map(|s| s.as_str().to_owned()),
            selectors: f
                .selectors()
                .iter()
                .map(|s| Selector {
                    namespace: owned(s.namespace()),
                    labels: sorted(s.labels()),
                })
                .collect(),
            subnets: f.subnets().to_vec(),
            pod_execution_role_arn: owned(f.pod_execution_role_arn()),
            health_issues: issues(f.health().map(|h| h.issues())),
            created_at: time(f.created_at()),
        }
    }
}

/// Why one entry of a list could not be described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryError {
    /// The contract's error code.
    pub code: common::ErrorCode,
    /// What went wrong.
    pub message: String,
    /// Whether asking again may help.
    pub retryable: bool,
}

/// One entry of a list action: described, or named with the reason it could not be.
///
/// A list of a hundred node groups is still worth answering when one DescribeNodegroup is
/// throttled, so the failure stays with its entry instead of failing the whole answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Entry<T> {
    /// The description.
    Described(T),
    /// The entry's name and the error.
    Failed {
        /// The entry's name.
        name: String,
        /// Why it could not be described.
        error: EntryError,
    },
}

impl<T> Entry<T> {
    /// From a describe call's result.
    pub fn new(name: &str, result: Result<T, common::ToolError>) -> Self {
        match result {
            Ok(detail) => Self::Described(detail),
            Err(e) => Self::Failed {
                name: name.to_owned(),
                error: EntryError {
                    code: e.code,
                    message: e.message,
                    retryable: e.retryable,
                },
            },
        }
    }
}
