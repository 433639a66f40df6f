#!/usr/bin/env bash
# The agent (release build): cold start to first answer, warm latency and peak RSS through
# the Runtime API with an instant model (the Converse double), the cost of one loop cycle
# (cargo bench), and the zip size. Numbers, not tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --locked -p agent -p integration-tests --bin agent --example agent_latency
target/release/examples/agent_latency target/release "${RUNS:-200}"
cargo bench --locked -q -p agent 2>&1 >/dev/null | tail -1
python3 scripts/zip_size.py target/release/agent
