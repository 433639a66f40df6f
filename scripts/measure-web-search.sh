#!/usr/bin/env bash
# Cold start, warm latency and peak RSS of web-search (release build) against the loopback
# search engines, plus its zip size. Numbers, not tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p web-search -p integration-tests --bin web-search --example search_latency
target/release/examples/search_latency target/release "${RUNS:-200}"
python3 scripts/zip_size.py target/release/web-search
