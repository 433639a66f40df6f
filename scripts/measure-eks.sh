#!/usr/bin/env bash
# Cold start, warm latency and peak RSS of eks-info and k8s-info (release builds) against the
# local stack: seeded moto behind the EKS add-on double for eks-info; for k8s-info, moto's
# DescribeCluster pointed at the Kubernetes API double (TLS, test CA, tokens verified). Zip
# sizes of both. Numbers, not tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --locked -p eks-info -p integration-tests --bin eks-info --example eks_latency
target/release/examples/eks_latency target/release "${RUNS:-200}"
python3 scripts/zip_size.py target/release/eks-info
cargo build --release --locked -p k8s-info -p integration-tests --bin k8s-info --example k8s_latency
target/release/examples/k8s_latency target/release "${RUNS:-200}"
python3 scripts/zip_size.py target/release/k8s-info
