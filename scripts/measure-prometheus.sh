#!/usr/bin/env bash
# Cold start, warm added latency and peak RSS of the three Prometheus functions (release
# builds) against a real Prometheus, plus the range-shaping bench. Numbers, not tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --locked -p prometheus-query -p prometheus-range-query -p prometheus-metadata \
  -p integration-tests --bin prometheus-query --bin prometheus-range-query --bin prometheus-metadata --bin prometheus_latency
target/release/prometheus_latency target/release "${RUNS:-200}"
for bin in prometheus-query prometheus-range-query prometheus-metadata; do
  python3 - "$bin" <<'PY'
import os, sys, tempfile, zipfile
name = sys.argv[1]
path = f"target/release/{name}"
with tempfile.TemporaryDirectory() as d:
    z = os.path.join(d, "bootstrap.zip")
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as f:
        f.write(path, "bootstrap")
    print(f"{name:<24} bootstrap {os.path.getsize(path)/1048576:.2f} MB, zip {os.path.getsize(z)/1048576:.2f} MB")
PY
done
cargo bench --locked -q -p prometheus-range-query
