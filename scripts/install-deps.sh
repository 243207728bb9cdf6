#!/usr/bin/env bash
# Installs what building and testing Sealpost needs on a Debian machine, skipping what is
# already there. Safe to run again.
set -euo pipefail

# Build: SQLCipher links the system libcrypto. Tests: the Go `age` CLI checks that the hub's
# ciphertext is real age.
packages=(build-essential pkg-config libssl-dev age)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$component"
  fi
done

# The test runner: one process per test, a clear summary line.
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install cargo-nextest --locked
fi
