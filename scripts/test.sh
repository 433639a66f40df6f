#!/usr/bin/env bash
# Everything CI checks, in the order that fails fastest: formatting, lints, the build,
# unit, fuzz and integration tests against the local stack (the fault matrix among them),
# a scan of everything the functions logged or answered for canary secrets, the SAM
# template, and the zips that would be deployed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

step() { printf '\n== %s\n' "$*"; }
step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "build the function binaries the integration tests run"
cargo build --workspace --bins --locked
step "tests (the fuzz targets at proptest's default 256 cases; scripts/fuzz.sh runs 10^6)"
# Every function log and answer of the suite is kept here for the secrets scan below.
rm -rf target/test-logs
cargo test --workspace --locked
step "fault matrix (printed by tests/faults.rs)"
cat target/artifacts/fault-matrix.md
step "secrets scan of every function log and answer the suite produced"
cargo run --quiet --locked -p integration-tests --bin scan_secrets
step "cfn-lint template.yaml"
cfn-lint template.yaml
step "deployable zips for every function (arm64 when its target is installed)"
bash scripts/build-zips.sh
echo
echo "all checks passed"
