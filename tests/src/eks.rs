//! The EKS operations moto does not serve, answered in EKS's own wire format (restJson1) by
//! a [`FaultProxy`] in front of moto: ListAddons and DescribeAddon, and node group states
//! (DEGRADED, health issues) that moto's API cannot put a node group in. Everything else the
//! real SDK client asks goes through to moto.

use serde_json::{Value, json};

use crate::proxy::FaultProxy;

/// One add-on as the double describes it.
#[derive(Debug, Clone, Copy)]
pub struct Addon<'a> {
    /// Add-on name, e.g. `coredns`.
    pub name: &'a str,
    /// Version.
    pub version: &'a str,
    /// `ACTIVE`, `DEGRADED`, …
    pub status: &'a str,
    /// `(code, message)` of each health issue.
    pub issues: &'a [(&'a str, &'a str)],
}

/// Healthy default add-ons of an EKS cluster.
pub const HEALTHY_ADDONS: [Addon<'static>; 3] = [
    Addon {
        name: "coredns",
        version: "v1.11.3-eksbuild.1",
        status: "ACTIVE",
        issues: &[],
    },
    Addon {
        name: "kube-proxy",
        version: "v1.30.3-eksbuild.5",
        status: "ACTIVE",
        issues: &[],
    },
    Addon {
        name: "vpc-cni",
        version: "v1.18.3-eksbuild.2",
        status: "ACTIVE",
        issues: &[],
    },
];

/// Serves `addons` for `cluster`: ListAddons names them, DescribeAddon describes each.
pub fn serve_addons(proxy: &FaultProxy, cluster: &str, addons: &[Addon<'_>]) {
    let names: Vec<&str> = addons.iter().map(|a| a.name).collect();
    proxy.answer(
        "GET",
        &format!("/clusters/{cluster}/addons"),
        200,
        None,
        json!({"addons": names}),
    );
    for addon in addons {
        proxy.answer(
            "GET",
            &format!("/clusters/{cluster}/addons/{}", addon.name),
            200,
            None,
            json!({"addon": describe_addon(cluster, addon)}),
        );
    }
}

/// DescribeAddon's `addon` object, as EKS spells it.
pub fn describe_addon(cluster: &str, addon: &Addon<'_>) -> Value {
    let issues: Vec<Value> = addon
        .issues
        .iter()
        .map(|(code, message)| json!({"code": code, "message": message, "resourceIds": []}))
        .collect();
    json!({
        "addonName": addon.name,
        "clusterName": cluster,
        "status": addon.status,
        "addonVersion": addon.version,
        "health": {"issues": issues},
        "addonArn": format!("arn:aws:eks:us-east-1:123456789012:addon/{cluster}/{}/0ac9a1c2", addon.name),
        "createdAt": 1_767_225_600.0,
        "modifiedAt": 1_767_225_900.5,
        "serviceAccountRoleArn": format!("arn:aws:iam::123456789012:role/{}", addon.name),
        "tags": {},
        "configurationValues": "{\"replicaCount\": 2}",
    })
}

/// Makes DescribeNodegroup report `nodegroup` of `cluster` as DEGRADED with one health issue;
/// the rest of the answer is moto's.
pub fn degrade_nodegroup(proxy: &FaultProxy, cluster: &str, nodegroup: &str, issue: (&str, &str)) {
    proxy.patch(
        "GET",
        &format!("/clusters/{cluster}/node-groups/{nodegroup}"),
        json!({"nodegroup": {"status": "DEGRADED", "health": {"issues": [
            {"code": issue.0, "message": issue.1, "resourceIds": [format!("eks-{nodegroup}-asg")]}
        ]}}}),
    );
}

/// Makes `method path` fail as EKS does: `status`, `x-amzn-errortype: error_type` and a
/// message.
pub fn fail(proxy: &FaultProxy, method: &str, path: &str, status: u16, error_type: &str) {
    proxy.answer(
        method,
        path,
        status,
        Some(error_type),
        json!({"message": format!("injected {error_type}")}),
    );
}

/// Makes DescribeCluster of `cluster` answer `endpoint` (a [`crate::k8s::KubernetesApi`]'s
/// URL) and `ca_base64` (its [`crate::k8s::KubernetesApi::ca_base64`], or another CA's) as
/// the API server and its certificate authority; the rest of the answer is moto's.
pub fn point_cluster_at(proxy: &FaultProxy, cluster: &str, endpoint: &str, ca_base64: &str) {
    proxy.patch(
        "GET",
        &format!("/clusters/{cluster}"),
        json!({"cluster": {"endpoint": endpoint, "certificateAuthority": {"data": ca_base64}}}),
    );
}
