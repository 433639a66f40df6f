#!/usr/bin/env bash
# Everything CI checks, in the order that fails fastest: formatting, lints, the build,
# unit and integration tests against the local stack, the SAM template, and the zips that
# would be deployed.
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
step "tests"
cargo test --workspace --locked
step "cfn-lint template.yaml"
cfn-lint template.yaml
step "deployable zips for every function (arm64 when its target is installed)"
bash scripts/build-zips.sh
echo
echo "all checks passed"
