#!/usr/bin/env bash
# Cold start, warm latency and peak RSS of eks-info (release build) against the local stack:
# seeded moto behind the EKS add-on double. Numbers, not tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --locked -p eks-info -p integration-tests --bin eks-info --example eks_latency
target/release/examples/eks_latency target/release "${RUNS:-200}"
python3 scripts/zip_size.py target/release/eks-info
