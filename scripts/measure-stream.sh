#!/usr/bin/env bash
# The agent's Function URL: time to the first streamed text against time to the full answer,
# with the Converse double at a model's pace, through cargo lambda watch. Numbers, not tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --locked -p agent -p integration-tests --bin agent --example stream_latency
target/debug/examples/stream_latency "${RUNS:-5}"
