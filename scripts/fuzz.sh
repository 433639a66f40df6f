#!/usr/bin/env bash
# Runs every fuzz target of tests/tests/fuzz.rs with 10^6 cases each ($FUZZ_CASES to
# change), two at a time, in the `fuzz` profile (optimised, overflow checks on), and prints
# one line per target: cases, seconds, result. Logs: target/fuzz-runs/<target>.log.
#
#   scripts/fuzz.sh                 # 10^6 cases per target
#   FUZZ_CASES=10000 scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cases=${FUZZ_CASES:-1000000}
out=target/fuzz-runs
mkdir -p "$out"

cargo build --profile fuzz -p integration-tests --bin echo 2>&1 | tail -1
cargo test --profile fuzz -p integration-tests --test fuzz --no-run 2>&1 | tail -1
binary=$(cargo test --profile fuzz -p integration-tests --test fuzz --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "fuzz" and m.get("executable"):
        print(m["executable"])')
# Every proptest target (the check that the input generators reach both outcomes is a
# plain test, run by CI).
targets=$("$binary" --list 2>/dev/null | sed -n 's/: test$//p' | grep -v '^every_input_target')

run_one() {
  local target=$1 started ended status
  started=$(date +%s.%N)
  if PROPTEST_CASES=$cases "$binary" --exact "$target" --test-threads 1 >"$out/$target.log" 2>&1; then
    status=passed
  else
    status=FAILED
  fi
  ended=$(date +%s.%N)
  printf '%-78s %9s cases %8.1f s  %s\n' "$target" "$cases" "$(awk "BEGIN { print $ended - $started }")" "$status"
}
export -f run_one
export binary cases out

echo "target                                                                          cases      time  result"
printf '%s\n' $targets | xargs -P 2 -I{} bash -c 'run_one {}' | tee "$out/summary.txt"
! grep -q FAILED "$out/summary.txt"
