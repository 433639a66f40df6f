#!/usr/bin/env bash
# Soak: every tool Lambda (release build) answers $INVOCATIONS (default 10,000) mixed
# invocations in one process through the Runtime API against the local stack; prints peak
# RSS after the first 1,000 and after the last, and fails if it grew by more than 10 %.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --locked -p prometheus-query -p prometheus-range-query \
  -p prometheus-metadata -p web-search -p eks-info -p integration-tests \
  --bin prometheus-query --bin prometheus-range-query --bin prometheus-metadata \
  --bin web-search --bin eks-info --example soak
target/release/examples/soak target/release "${INVOCATIONS:-10000}"
