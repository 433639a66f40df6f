//! The health verdict: named checks over what `cluster_health` gathered, each `ok`,
//! `warning` or `critical`, and an overall `healthy` / `warning` / `unhealthy`.
//!
//! Pure functions over the views, so every rule is unit-tested without AWS. The rules:
//!
//! | check | ok | warning | critical |
//! |---|---|---|---|
//! | `cluster_status` | ACTIVE | CREATING, UPDATING, PENDING, unknown, could not describe | FAILED, DELETING |
//! | `cluster_health_issues` | none | any other issue | ClusterUnreachable, KMS key issues |
//! | `compute` | node groups or Fargate profiles exist | neither exists | |
//! | `nodegroup/<name>` | ACTIVE, room to scale, version = cluster's | CREATING, UPDATING, DELETING, health issues, desired = max, version behind | DEGRADED, *_FAILED, more than 3 minor versions behind |
//! | `addon/<name>` | ACTIVE | CREATING, UPDATING, DELETING, health issues | DEGRADED, *_FAILED |
//! | `fargate_profile/<name>` | ACTIVE | CREATING, DELETING, health issues | *_FAILED |
//! | `nodegroups`, `addons`, `fargate_profiles` | (only on failure) | the list could not be read | |
//!
//! A part that could not be read (access denied to one API, throttling) is a `warning` check
//! saying so: the answer is still given, and nothing is reported healthy that was not seen.

use serde::Serialize;

use crate::view::{AddonDetail, ClusterDetail, Entry, FargateProfileDetail, NodegroupDetail};
use common::ToolError;

/// Kubernetes' supported skew between the control plane and kubelets, in minor versions
/// (3 since Kubernetes 1.28).
pub const MAX_KUBELET_SKEW: u32 = 3;

/// How bad a check's finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing to do.
    Ok,
    /// Worth a look; the cluster works.
    Warning,
    /// Broken or about to break.
    Critical,
}

/// One named finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked, e.g. `nodegroup/general`.
    pub name: String,
    /// How bad it is.
    pub status: Status,
    /// What was found, in a sentence.
    pub detail: String,
}

/// The verdict over all checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Overall {
    /// Every check ok.
    Healthy,
    /// At least one warning, no critical.
    Warning,
    /// At least one critical check.
    Unhealthy,
}

/// What `cluster_health` gathered, each part read independently.
#[derive(Debug)]
pub struct Gathered {
    /// DescribeCluster.
    pub cluster: Result<ClusterDetail, ToolError>,
    /// ListNodegroups + DescribeNodegroup.
    pub nodegroups: Result<Vec<Entry<NodegroupDetail>>, ToolError>,
    /// ListAddons + DescribeAddon.
    pub addons: Result<Vec<Entry<AddonDetail>>, ToolError>,
    /// ListFargateProfiles + DescribeFargateProfile.
    pub fargate_profiles: Result<Vec<Entry<FargateProfileDetail>>, ToolError>,
}

fn check(name: impl Into<String>, status: Status, detail: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        status,
        detail: detail.into(),
    }
}

/// The checks, in a stable order: cluster, compute, node groups, add-ons, Fargate profiles.
pub fn checks(g: &Gathered) -> Vec<Check> {
    let mut out = Vec::new();
    let cluster = g.cluster.as_ref().ok();
    match &g.cluster {
        Ok(c) => {
            out.push(cluster_status(c));
            out.push(cluster_issues(c));
        }
        Err(e) => out.push(unreadable("cluster_status", "describe the cluster", e)),
    }
    if let (Ok(groups), Ok(profiles)) = (&g.nodegroups, &g.fargate_profiles) {
        out.push(if groups.is_empty() && profiles.is_empty() {
            check(
                "compute",
                Status::Warning,
                "no managed node groups and no Fargate profiles: pods can only run on self-managed nodes, if there are any",
            )
        } else {
            check(
                "compute",
                Status::Ok,
                format!(
                    "{} managed node group(s), {} Fargate profile(s)",
                    groups.len(),
                    profiles.len()
                ),
            )
        });
    }
    let cluster_version = cluster.and_then(|c| c.version.as_deref());
    part(&mut out, "nodegroups", "node groups", &g.nodegroups, |n| {
        nodegroup(n, cluster_version)
    });
    part(&mut out, "addons", "add-ons", &g.addons, addon);
    part(
        &mut out,
        "fargate_profiles",
        "Fargate profiles",
        &g.fargate_profiles,
        fargate_profile,
    );
    out
}

/// `healthy` when all checks are ok, `unhealthy` when any is critical, else `warning`.
pub fn overall(checks: &[Check]) -> Overall {
    match checks.iter().map(|c| c.status).max() {
        Some(Status::Critical) => Overall::Unhealthy,
        Some(Status::Warning) => Overall::Warning,
        _ => Overall::Healthy,
    }
}

fn unreadable(name: &str, what: &str, e: &ToolError) -> Check {
    check(
        name,
        Status::Warning,
        format!("could not {what}, so it was not checked: {e}"),
    )
}

fn part<T>(
    out: &mut Vec<Check>,
    name: &str,
    what: &str,
    listed: &Result<Vec<Entry<T>>, ToolError>,
    judge: impl Fn(&T) -> Check,
) {
    match listed {
        Err(e) => out.push(unreadable(name, &format!("list the {what}"), e)),
        Ok(entries) => out.extend(entries.iter().map(|entry| match entry {
            Entry::Described(detail) => judge(detail),
            Entry::Failed { name: item, error } => check(
                format!("{}/{item}", name.trim_end_matches('s')),
                Status::Warning,
                format!(
                    "could not describe it, so it was not checked: {}: {}",
                    error.code, error.message
                ),
            ),
        })),
    }
}

fn cluster_status(c: &ClusterDetail) -> Check {
    let status = c.status.as_deref().unwrap_or("UNKNOWN");
    let (level, detail) = match status {
        "ACTIVE" => (Status::Ok, "the cluster is ACTIVE".to_owned()),
        "FAILED" | "DELETING" => (
            Status::Critical,
            format!("the cluster is {status}: its control plane is not serving"),
        ),
        _ => (
            Status::Warning,
            format!("the cluster is {status}, not ACTIVE"),
        ),
    };
    check("cluster_status", level, detail)
}

fn cluster_issues(c: &ClusterDetail) -> Check {
    if c.health_issues.is_empty() {
        return check(
            "cluster_health_issues",
            Status::Ok,
            "AWS reports no cluster health issues",
        );
    }
    let severe = c
        .health_issues
        .iter()
        .any(|i| i.code == "ClusterUnreachable" || i.code.starts_with("Kms"));
    check(
        "cluster_health_issues",
        if severe {
            Status::Critical
        } else {
            Status::Warning
        },
        format!("AWS reports: {}", issue_list(&c.health_issues)),
    )
}

fn issue_list(issues: &[crate::view::HealthIssue]) -> String {
    issues
        .iter()
        .map(|i| {
            if i.message.is_empty() {
                i.code.clone()
            } else {
                format!("{} ({})", i.code, i.message)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Common status rules of node groups, add-ons and Fargate profiles.
fn resource_status(status: Option<&str>) -> (Status, String) {
    let status = status.unwrap_or("UNKNOWN");
    let level = match status {
        "ACTIVE" => Status::Ok,
        "DEGRADED" => Status::Critical,
        s if s.ends_with("_FAILED") => Status::Critical,
        _ => Status::Warning,
    };
    (level, status.to_owned())
}

/// `(major, minor)` of `1.30` or `1.30.2`.
fn minor_version(v: &str) -> Option<(u32, u32)> {
    let mut parts = v.trim_start_matches('v').split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

fn nodegroup(n: &NodegroupDetail, cluster_version: Option<&str>) -> Check {
    let (mut level, status) = resource_status(n.status.as_deref());
    let mut findings = vec![status];
    if !n.health_issues.is_empty() {
        level = level.max(Status::Warning);
        findings.push(format!("health issues: {}", issue_list(&n.health_issues)));
    }
    let s = n.scaling;
    if let (Some(desired), Some(max)) = (s.desired_size, s.max_size) {
        if max > 0 && desired >= max {
            level = level.max(Status::Warning);
            findings.push(format!(
                "{desired} nodes desired, which is its maximum: it cannot scale out"
            ));
        } else {
            findings.push(format!(
                "{desired} nodes desired ({}-{max})",
                s.min_size.unwrap_or(0)
            ));
        }
    }
    if let (Some(own), Some(cluster)) = (n.version.as_deref(), cluster_version) {
        match (minor_version(own), minor_version(cluster)) {
            (Some((a, b)), Some((c, d))) if a == c && b < d => {
                let behind = d - b;
                level = level.max(if behind > MAX_KUBELET_SKEW {
                    Status::Critical
                } else {
                    Status::Warning
                });
                findings.push(format!(
                    "version {own} is {behind} minor version(s) behind the cluster's {cluster}{}",
                    if behind > MAX_KUBELET_SKEW {
                        ", beyond Kubernetes' supported skew"
                    } else {
                        ""
                    }
                ));
            }
            _ => findings.push(format!("version {own}")),
        }
    }
    check(format!("nodegroup/{}", n.name), level, findings.join("; "))
}

fn addon(a: &AddonDetail) -> Check {
    let (mut level, status) = resource_status(a.status.as_deref());
    let mut detail = format!("{status}, version {}", a.version.as_deref().unwrap_or("?"));
    if !a.health_issues.is_empty() {
        level = level.max(Status::Warning);
        detail.push_str(&format!(
            "; health issues: {}",
            issue_list(&a.health_issues)
        ));
    }
    check(format!("addon/{}", a.name), level, detail)
}

fn fargate_profile(f: &FargateProfileDetail) -> Check {
    let (mut level, mut detail) = resource_status(f.status.as_deref());
    if !f.health_issues.is_empty() {
        level = level.max(Status::Warning);
        detail.push_str(&format!(
            "; health issues: {}",
            issue_list(&f.health_issues)
        ));
    }
    check(format!("fargate_profile/{}", f.name), level, detail)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use common::ErrorCode;

    use super::*;
    use crate::view::{HealthIssue, Networking, Scaling};

    fn cluster(status: &str, version: &str) -> ClusterDetail {
        ClusterDetail {
            name: "c".into(),
            arn: None,
            status: Some(status.into()),
            version: Some(version.into()),
            platform_version: None,
            endpoint: None,
            created_at: None,
            role_arn: None,
            networking: Networking {
                vpc_id: None,
                subnet_ids: vec![],
                security_group_ids: vec![],
                cluster_security_group_id: None,
                endpoint_public_access: false,
                endpoint_private_access: true,
                public_access_cidrs: vec![],
                service_ipv4_cidr: None,
                service_ipv6_cidr: None,
                ip_family: None,
            },
            logging_enabled: vec![],
            logging_disabled: vec![],
            oidc_issuer: None,
            authentication_mode: None,
            support_type: None,
            health_issues: vec![],
            tags: BTreeMap::new(),
        }
    }

    fn group(name: &str, status: &str, version: &str, desired: i32, max: i32) -> NodegroupDetail {
        NodegroupDetail {
            name: name.into(),
            arn: None,
            status: Some(status.into()),
            version: Some(version.into()),
            release_version: None,
            capacity_type: None,
            ami_type: None,
            instance_types: vec![],
            scaling: Scaling {
                min_size: Some(1),
                max_size: Some(max),
                desired_size: Some(desired),
            },
            disk_size: None,
            subnets: vec![],
            labels: BTreeMap::new(),
            taints: vec![],
            auto_scaling_groups: vec![],
            health_issues: vec![],
            created_at: None,
            modified_at: None,
            tags: BTreeMap::new(),
        }
    }

    fn addon_in(status: &str) -> AddonDetail {
        AddonDetail {
            name: "coredns".into(),
            version: Some("v1.11.1-eksbuild.9".into()),
            status: Some(status.into()),
            health_issues: vec![],
            service_account_role_arn: None,
            created_at: None,
            modified_at: None,
        }
    }

    fn gathered(groups: Vec<NodegroupDetail>) -> Gathered {
        Gathered {
            cluster: Ok(cluster("ACTIVE", "1.30")),
            nodegroups: Ok(groups.into_iter().map(Entry::Described).collect()),
            addons: Ok(vec![]),
            fargate_profiles: Ok(vec![]),
        }
    }

    fn status_of<'a>(checks: &'a [Check], name: &str) -> (Status, &'a str) {
        let c = checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no check {name} in {checks:?}"));
        (c.status, c.detail.as_str())
    }

    #[test]
    fn a_healthy_cluster_has_only_ok_checks() {
        let checks = checks(&gathered(vec![group("general", "ACTIVE", "1.30", 3, 6)]));
        assert_eq!(
            checks.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            [
                "cluster_status",
                "cluster_health_issues",
                "compute",
                "nodegroup/general"
            ]
        );
        assert!(checks.iter().all(|c| c.status == Status::Ok), "{checks:?}");
        assert_eq!(overall(&checks), Overall::Healthy);
        assert_eq!(
            status_of(&checks, "nodegroup/general").1,
            "ACTIVE; 3 nodes desired (1-6); version 1.30"
        );
    }

    #[test]
    fn node_group_rules() {
        let checks = checks(&gathered(vec![
            group("full", "ACTIVE", "1.30", 6, 6),
            group("old", "ACTIVE", "1.28", 1, 3),
            group("ancient", "ACTIVE", "1.26", 1, 3),
            group("broken", "DEGRADED", "1.30", 1, 3),
            group("failed", "CREATE_FAILED", "1.30", 1, 3),
            group("rolling", "UPDATING", "1.30", 1, 3),
            group("empty-ok", "ACTIVE", "1.30", 0, 0),
        ]));
        let expect = [
            ("full", Status::Warning, "cannot scale out"),
            ("old", Status::Warning, "2 minor version(s) behind"),
            (
                "ancient",
                Status::Critical,
                "beyond Kubernetes' supported skew",
            ),
            ("broken", Status::Critical, "DEGRADED"),
            ("failed", Status::Critical, "CREATE_FAILED"),
            ("rolling", Status::Warning, "UPDATING"),
            ("empty-ok", Status::Ok, "0 nodes desired"),
        ];
        for (name, status, phrase) in expect {
            let (got, detail) = status_of(&checks, &format!("nodegroup/{name}"));
            assert_eq!(got, status, "{name}: {detail}");
            assert!(detail.contains(phrase), "{name}: {detail}");
        }
        assert_eq!(overall(&checks), Overall::Unhealthy);
    }

    #[test]
    fn health_issues_raise_a_warning_and_are_named() {
        let mut g = group("general", "ACTIVE", "1.30", 2, 6);
        g.health_issues.push(HealthIssue {
            code: "AsgInstanceLaunchFailures".into(),
            message: "Could not launch On-Demand Instances".into(),
            resource_ids: vec!["eks-general".into()],
        });
        let checks = checks(&gathered(vec![g]));
        let (status, detail) = status_of(&checks, "nodegroup/general");
        assert_eq!(status, Status::Warning);
        assert!(detail.contains("AsgInstanceLaunchFailures (Could not launch"));
        assert_eq!(overall(&checks), Overall::Warning);
    }

    #[test]
    fn cluster_states_and_issues() {
        for (state, expected) in [
            ("ACTIVE", Status::Ok),
            ("UPDATING", Status::Warning),
            ("CREATING", Status::Warning),
            ("FAILED", Status::Critical),
            ("DELETING", Status::Critical),
            ("SOMETHING_NEW", Status::Warning),
        ] {
            assert_eq!(cluster_status(&cluster(state, "1.30")).status, expected);
        }
        let mut c = cluster("ACTIVE", "1.30");
        c.health_issues.push(HealthIssue {
            code: "Ec2SubnetNotFound".into(),
            message: String::new(),
            resource_ids: vec![],
        });
        assert_eq!(cluster_issues(&c).status, Status::Warning);
        c.health_issues[0].code = "KmsKeyDisabled".into();
        assert_eq!(cluster_issues(&c).status, Status::Critical);
    }

    #[test]
    fn add_on_rules() {
        for (state, expected) in [
            ("ACTIVE", Status::Ok),
            ("DEGRADED", Status::Critical),
            ("CREATE_FAILED", Status::Critical),
            ("UPDATE_FAILED", Status::Critical),
            ("UPDATING", Status::Warning),
        ] {
            assert_eq!(addon(&addon_in(state)).status, expected, "{state}");
        }
    }

    #[test]
    fn parts_that_could_not_be_read_are_warnings_not_failures() {
        let denied = ToolError::new(
            ErrorCode::AccessDenied,
            "Amazon EKS returned AccessDeniedException",
        );
        let g = Gathered {
            cluster: Ok(cluster("ACTIVE", "1.30")),
            nodegroups: Ok(vec![
                Entry::Described(group("general", "ACTIVE", "1.30", 2, 6)),
                Entry::new(
                    "gone",
                    Err(ToolError::new(ErrorCode::Throttled, "slow down")),
                ),
            ]),
            addons: Err(denied),
            fargate_profiles: Ok(vec![]),
        };
        let checks = checks(&g);
        let (status, detail) = status_of(&checks, "addons");
        assert_eq!(status, Status::Warning);
        assert!(detail.contains("could not list the add-ons") && detail.contains("ACCESS_DENIED"));
        let (status, detail) = status_of(&checks, "nodegroup/gone");
        assert_eq!(status, Status::Warning);
        assert!(detail.contains("THROTTLED: slow down"), "{detail}");
        assert_eq!(overall(&checks), Overall::Warning);
    }

    #[test]
    fn no_compute_at_all_is_a_warning() {
        let checks = checks(&gathered(vec![]));
        assert_eq!(status_of(&checks, "compute").0, Status::Warning);
    }

    #[test]
    fn versions_parse() {
        assert_eq!(minor_version("1.30"), Some((1, 30)));
        assert_eq!(minor_version("v1.29.3"), Some((1, 29)));
        assert_eq!(minor_version("latest"), None);
    }
}
