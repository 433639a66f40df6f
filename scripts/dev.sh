#!/usr/bin/env bash
# The main job, locally: the local stack (Prometheus with its data set, moto with SSM
# configuration and EKS/AMP fixtures), the functions under `cargo lambda watch` (rebuilt
# on every save), and `cargo lambda invoke` of every sample event in events/.
#
# Interactive: keeps running until Ctrl-C; then try `cargo lambda invoke <function>
# --data-file events/<function>/<event>.json --invoke-port $port` yourself.
# Non-interactive (CI=true or no terminal): invokes the samples and stops.
#
# Every function with an events/<function>/ directory is invoked with each of its samples.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

# Logs live outside the work tree: cargo lambda watch rebuilds on every write inside it.
run_dir="$(mktemp -d -t devops-agent-dev.XXXXXX)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
stack_pid="" watch_pid=""
stop() {
  # By process group id (each started with setsid), so cargo's children go too.
  [ -n "$watch_pid" ] && kill -- "-$watch_pid" 2>/dev/null || true
  [ -n "$stack_pid" ] && kill -- "-$stack_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

echo "== building"
cargo build --workspace --bins --examples --locked -q

echo "== starting the local stack (logs in $run_dir)"
setsid target/debug/examples/stack "$run_dir/stack.env" > "$run_dir/stack.log" 2>&1 &
stack_pid=$!
for _ in $(seq 1 600); do [ -s "$run_dir/stack.env" ] && break; kill -0 "$stack_pid" 2>/dev/null || { cat "$run_dir/stack.log"; exit 1; }; sleep 0.1; done
cat "$run_dir/stack.log"

# The agent invokes the tools through the same emulator.
echo "AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:$port" >> "$run_dir/stack.env"

# A real model instead of the stand-in: any OpenAI-compatible server, e.g.
#   MODEL_PROVIDER=openai MODEL_BASE_URL=http://127.0.0.1:11434 MODEL_ID=llama3.1 make dev
if [ -n "${MODEL_PROVIDER:-}" ]; then
  grep -v '^MODEL_ID=' "$run_dir/stack.env" > "$run_dir/stack.env.new"
  for var in MODEL_PROVIDER MODEL_BASE_URL MODEL_ID MODEL_API_KEY; do
    [ -n "${!var:-}" ] && echo "$var=${!var}" >> "$run_dir/stack.env.new"
  done
  mv "$run_dir/stack.env.new" "$run_dir/stack.env"
  echo "== the agent's model: $MODEL_PROVIDER ${MODEL_ID:-} at ${MODEL_BASE_URL:-}"
fi

echo "== cargo lambda watch on 127.0.0.1:$port"
# No binary selected: the watcher starts whichever function an invoke names.
setsid cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" --env-file "$run_dir/stack.env" \
  > "$run_dir/watch.log" 2>&1 &
watch_pid=$!

invoke() { # function event-file
  cargo lambda invoke "$1" --invoke-address 127.0.0.1 --invoke-port "$port" --data-file "$2" --output-format json
}

# The first invoke waits for the watcher's build; give it a few tries.
for attempt in $(seq 1 60); do
  if out="$(invoke echo events/echo/direct.json 2>&1)"; then break; fi
  kill -0 "$watch_pid" 2>/dev/null || { echo "cargo lambda watch exited:"; cat "$run_dir/watch.log"; exit 1; }
  [ "$attempt" = 60 ] && { echo "$out"; cat "$run_dir/watch.log"; exit 1; }
  sleep 2
done

for fn_dir in events/*/; do
  fn="$(basename "$fn_dir")"
  for event in "$fn_dir"*.json; do
    case "$event" in *-client-context.json) continue ;; esac
    # cargo-lambda 1.9 hands the client context to the function still base64-encoded;
    # lambda_runtime cannot parse that and exits. So AgentCore events are sent here without
    # theirs (the integration tests send it through their own Runtime API).
    echo "-- $fn <- $event"
    case "$event" in
      # The agent's Function URL page and SSE stream are not JSON: show how they begin.
      *function-url-page.json|*function-url-stream.json)
        out="$(cargo lambda invoke "$fn" --invoke-address 127.0.0.1 --invoke-port "$port" --data-file "$event" --output-format text)"
        printf '%s\n… (%s bytes)' "${out:0:300}" "${#out}" ;;
      *) invoke "$fn" "$event" ;;
    esac
    echo
  done
done

if [ -t 0 ] && [ -z "${CI:-}" ]; then
  echo "== running; from another shell (cargo-lambda lives in the stack's venv, so put it on PATH first):"
  echo "   export PATH=\"$PWD/target/stack-venv/bin:\$PATH\""
  echo "   cargo lambda invoke echo --invoke-address 127.0.0.1 --invoke-port $port --data-file events/echo/direct.json"
  echo "== the agent's chat page: http://127.0.0.1:$port/lambda-url/agent/ (its model is the local investigator: ask "Is prod-eu healthy?")"
  echo "== the MCP server (Streamable HTTP, every tool): http://127.0.0.1:$port/lambda-url/mcp-server/ (docs/mcp.md)"
  echo "== function logs: $run_dir/watch.log. Ctrl-C to stop."
  wait "$watch_pid"
else
  # Without a terminal nobody can press Ctrl-C or open the page: say why it ends here.
  echo "== every sample event answered; no terminal on standard input (or CI is set), so the"
  echo "   local stack and functions are stopped now. Run make dev in a terminal to keep them up."
fi
