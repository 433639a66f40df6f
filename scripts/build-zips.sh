#!/usr/bin/env bash
# Builds every Lambda crate (crates/* with a src/main.rs, but the terminal client) into the
# zip Lambda deploys, with cargo-lambda and zig (PyPI `ziglang`) as the linker, and prints
# each zip's size.
#
# The template deploys arm64. The aarch64 standard library comes from `rustup target add
# aarch64-unknown-linux-gnu`, which a fresh machine may not be able to download, so CI never
# asks for it: without the target this builds x86_64 zips and says so (the same code; x86_64
# zips run about 0.1-0.2 MB larger). INSTALL_TARGET=1 makes it run rustup first;
# ZIP_ARCH=x86-64 builds x86_64 regardless.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

target=aarch64-unknown-linux-gnu
arch=arm64
if [ "${ZIP_ARCH:-}" = x86-64 ]; then # forced, e.g. to try the fallback
  target=x86_64-unknown-linux-gnu
  arch=x86-64
elif ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  if [ "${INSTALL_TARGET:-0}" = 1 ]; then
    rustup target add "$target"
  else
    echo "build-zips: SKIPPED arm64: the $target target is not installed (INSTALL_TARGET=1 adds it); building x86_64 zips instead"
    target=x86_64-unknown-linux-gnu
    arch=x86-64
  fi
fi

# Crates with a binary that are not Lambdas (integration_tests::NOT_LAMBDAS): `cli` is the
# terminal client, `devops-agent`, which runs on an operator's machine (`cargo build -p cli`).
not_lambda() { [ "$(basename "$1")" = cli ]; }

packages=()
for dir in crates/*/; do
  [ -f "$dir/src/main.rs" ] && ! not_lambda "$dir" && packages+=(--package "$(basename "$dir")")
done
cargo lambda build --release --locked "--$arch" --output-format zip "${packages[@]}"

echo
echo "zips ($target; target 3 MB):"
status=0
for dir in crates/*/; do
  [ -f "$dir/src/main.rs" ] || continue
  not_lambda "$dir" && continue
  name="$(basename "$dir")"
  zip="target/lambda/$name/bootstrap.zip"
  bytes="$(stat -c %s "$zip")"
  mark=""
  [ "$bytes" -gt 3145728 ] && mark="  (over 3 MB)"
  printf '  %-24s %s MB%s\n' "$name" "$(awk -v b="$bytes" 'BEGIN { printf "%6.2f", b / 1048576 }')" "$mark"
  [ -s "$zip" ] || status=1
done
exit "$status"
