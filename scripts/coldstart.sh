#!/usr/bin/env bash
# Measures cold start (process start to first answer through the Runtime API) and peak RSS
# of release builds with the workspace profile: the `echo` example (the foundation: adapter,
# telemetry, config) against a bare lambda_runtime echo. Also prints the stripped binary
# and zip sizes. A measurement script, not a test: numbers vary with the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${RUNS:-30}"
cargo build --release --locked -p integration-tests --bin coldstart --bin echo --bin bare_echo
target/release/coldstart --runs "$runs" target/release/bare_echo target/release/echo
for bin in bare_echo echo; do
  python3 - "$bin" <<'PY'
import os, sys, tempfile, zipfile
name = sys.argv[1]
path = f"target/release/{name}"
with tempfile.TemporaryDirectory() as d:
    z = os.path.join(d, "bootstrap.zip")
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as f:
        f.write(path, "bootstrap")
    print(f"{name:<12} bootstrap {os.path.getsize(path)/1048576:.2f} MB, zip {os.path.getsize(z)/1048576:.2f} MB")
PY
done
