#!/usr/bin/env bash
# Measures cold start (process start to first answer through the Runtime API) and peak RSS
# of release builds with the workspace profile: the `echo` example (the foundation: adapter,
# telemetry, config) against a bare lambda_runtime echo. Also prints the stripped binary
# and zip sizes. A measurement script, not a test: numbers vary with the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${RUNS:-30}"
cargo build --release --locked -p integration-tests --bin echo --example coldstart --example bare_echo
target/release/examples/coldstart --runs "$runs" target/release/examples/bare_echo target/release/echo
python3 scripts/zip_size.py target/release/examples/bare_echo target/release/echo
