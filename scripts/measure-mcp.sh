#!/usr/bin/env bash
# The MCP server (release build) against the same job in Python, measured in one run:
#   - Rust: process start to the first tools/list answer through the Lambda Runtime API (a
#     cold start, the event queued before the process starts, as Lambda does), peak RSS, the
#     binary and its zip (x86_64 here; build-zips.sh makes the arm64 one when that target is
#     installed);
#   - Python: tests/stack/mcp_python_server.py (the official SDK, stateless Streamable HTTP,
#     forwarding to the Lambdas with boto3), process start to its first tools/list answer over
#     HTTP, peak RSS, and the zip of the SDK with its dependencies.
# Numbers, not tests: they vary with the machine. RUNS (default 30) per side.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
runs="${RUNS:-30}"
cargo build --release --locked -p mcp-server -p integration-tests --bin mcp-server --example coldstart
# A Function URL tools/list in 2026-07-28 form, as the SDK's client sends it.
event="$(python3 -c 'import json; e = json.load(open("events/mcp-server/apigw-http.json")); print(json.dumps(e))')"
echo "== cold start to the first tools/list answer"
target/release/examples/coldstart --runs "$runs" --event "$event" target/release/mcp-server
"$TEST_STACK_VENV/bin/python" scripts/measure_mcp.py "$TEST_STACK_VENV/bin/python" "$runs"
echo "== sizes"
python3 scripts/zip_size.py target/release/mcp-server
