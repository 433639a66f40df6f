#!/usr/bin/env bash
# Cold start, warm added latency and peak RSS of the four Prometheus functions (release
# builds) against a real Prometheus, plus the range-shaping bench. Numbers, not tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --locked -p prometheus-query -p prometheus-range-query -p prometheus-metadata -p prometheus-alerts \
  -p integration-tests --bin prometheus-query --bin prometheus-range-query --bin prometheus-metadata --bin prometheus-alerts --example prometheus_latency
target/release/examples/prometheus_latency target/release "${RUNS:-200}"
python3 scripts/zip_size.py target/release/prometheus-query target/release/prometheus-range-query target/release/prometheus-metadata target/release/prometheus-alerts
cargo bench --locked -q -p prometheus-range-query
