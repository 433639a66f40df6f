"""Seeds a running moto server with the AWS resources the tests expect, and prints them.

Usage: seed_moto.py <endpoint>. Prints one JSON object: the names and ids created (moto
generates AMP workspace ids, so tests read them from here instead of assuming them).
Uses boto3 from the test venv; nothing leaves loopback.
"""

import json
import sys

import boto3

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/eks-test"
SUBNETS = ["subnet-0a1b2c3d", "subnet-4e5f6a7b"]


def main(endpoint):
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=REGION)
    eks = session.client("eks", endpoint_url=endpoint)
    amp = session.client("amp", endpoint_url=endpoint)
    created = {"region": REGION, "clusters": {}, "workspaces": {}}

    clusters = {"prod-eu": "1.30", "staging": "1.29", "dev": "1.31"}
    for name, version in clusters.items():
        eks.create_cluster(name=name, version=version, roleArn=ROLE,
                           resourcesVpcConfig={"subnetIds": SUBNETS},
                           tags={"team": "platform", "env": name})
        created["clusters"][name] = {"version": version, "nodegroups": [], "fargate_profiles": []}

    # (name, min, max, desired, instance types, capacity type, Kubernetes version or None for the
    # cluster's). spot-batch runs at its maximum and legacy lags two minor versions behind, so
    # prod-eu has health findings; staging has none. The version is always passed: moto's
    # default (1.19) is not the cluster's, unlike EKS's.
    nodegroups = {
        "prod-eu": [("general", 2, 6, 3, ["m6i.large"], "ON_DEMAND", None),
                    ("spot-batch", 0, 10, 10, ["c6i.xlarge", "c5.xlarge"], "SPOT", None),
                    ("legacy", 1, 4, 2, ["m5.large"], "ON_DEMAND", "1.28")],
        "staging": [("general", 1, 3, 1, ["t3.large"], "ON_DEMAND", None)],
    }
    for cluster, groups in nodegroups.items():
        for name, low, high, desired, types, capacity, version in groups:
            eks.create_nodegroup(clusterName=cluster, nodegroupName=name, nodeRole=ROLE, subnets=SUBNETS,
                                 scalingConfig={"minSize": low, "maxSize": high, "desiredSize": desired},
                                 instanceTypes=types, capacityType=capacity,
                                 version=version or clusters[cluster], labels={"pool": name})
            created["clusters"][cluster]["nodegroups"].append(name)

    eks.create_fargate_profile(clusterName="prod-eu", fargateProfileName="serverless-jobs",
                               podExecutionRoleArn=ROLE, subnets=SUBNETS,
                               selectors=[{"namespace": "jobs"}])
    created["clusters"]["prod-eu"]["fargate_profiles"].append("serverless-jobs")

    for alias in ["observability-prod", "observability-dev"]:
        ws = amp.create_workspace(alias=alias)
        created["workspaces"][alias] = ws["workspaceId"]

    print(json.dumps(created))


if __name__ == "__main__":
    main(sys.argv[1])
