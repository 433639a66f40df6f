#!/usr/bin/env bash
# Cold start, warm added latency and peak RSS of the three Prometheus functions (release
# builds) against a real Prometheus, plus the range-shaping bench. Numbers, not tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --locked -p prometheus-query -p prometheus-range-query -p prometheus-metadata \
  -p integration-tests --bin prometheus-query --bin prometheus-range-query --bin prometheus-metadata --example prometheus_latency
target/release/examples/prometheus_latency target/release "${RUNS:-200}"
python3 scripts/zip_size.py target/release/prometheus-query target/release/prometheus-range-query target/release/prometheus-metadata
cargo bench --locked -q -p prometheus-range-query
