#!/usr/bin/env bash
# Cold start, warm latency and peak RSS of cloudwatch and cloudtrail (release builds) against
# their local upstreams (moto behind the CloudWatch double; the CloudTrail double), and the
# zip sizes of both. Numbers, not tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --locked -p cloudwatch -p cloudtrail -p integration-tests \
  --bin cloudwatch --bin cloudtrail --example cloudwatch_latency
target/release/examples/cloudwatch_latency target/release "${RUNS:-200}"
python3 scripts/zip_size.py target/release/cloudwatch
python3 scripts/zip_size.py target/release/cloudtrail
