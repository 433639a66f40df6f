#!/usr/bin/env bash
# Everything CI checks, in the order that fails fastest: formatting, lints, the build,
# unit, fuzz and integration tests against the local stack (the fault matrix among them),
# a scan of everything the functions logged or answered for canary secrets, the SAM
# template, and the zips that would be deployed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

step() { printf '\n== %s\n' "$*"; }

# A disk that fills mid-build shows up as a linker killed by SIGBUS ("ld terminated with
# signal 7"), which does not say why; say it up front. need_gb is about what a run from a
# clean clone leaves under target/ (4.3 GB; docs/measurements.md).
need_gb=5
free_gb="$(df -Pk . | awk 'NR == 2 { printf "%d", $4 / 1048576 }')"
echo "disk: ${free_gb} GB free; a run from a clean clone needs about ${need_gb} GB"
if [ "$free_gb" -lt "$need_gb" ]; then
  echo "disk: WARNING: less free than a clean run needs; a full disk fails the link with SIGBUS"
fi
step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "build the function binaries the integration tests run"
# The same feature set as `cargo run --bin <function>`, which `cargo lambda watch` runs in the
# agent's tests, and (no dev-dependency adds a feature to a shared crate) as the tests below:
# one build of every dependency, not two.
features() { cargo tree --workspace --locked -e "$1" -f '{p} [{f}]' --prefix none | sed 's/ (\*)$//' | sort -u; }
for_bins="$(features normal,build)"
for_tests="$(features normal,build,dev)"
changed="$(comm -23 <(echo "$for_bins") <(echo "$for_tests"))"
if [ -n "$changed" ]; then
  echo "a dev-dependency changes the features of crates the binaries use (compiled twice):"
  echo "$changed"
  exit 1
fi
cargo build --workspace --bins --locked
step "tests (the fuzz targets at proptest's default 256 cases; scripts/fuzz.sh runs 10^6)"
# Every function log and answer of the suite is kept here for the secrets scan below.
rm -rf target/test-logs
cargo test --workspace --locked
step "fault matrix (printed by tests/faults.rs)"
cat target/artifacts/fault-matrix/*.md
step "secrets scan of every function log and answer the suite produced"
cargo run --quiet --locked -p integration-tests --example scan_secrets
step "cfn-lint template.yaml"
cfn-lint template.yaml
step "deployable zips for every function (arm64 when its target is installed)"
bash scripts/build-zips.sh
echo
echo "target/ now holds $(du -sh target | cut -f1)"
echo "all checks passed"
