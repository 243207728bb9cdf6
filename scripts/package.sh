#!/usr/bin/env bash
# `make package`: the release app's Linux packages, a .deb and an .rpm, built by the Tauri
# bundler into target/release/bundle/{deb,rpm}/. Both hold the desktop app
# (sealpost-desktop), the terminal client (sealpost), their manual pages, the menu entry
# and icons, and the sealpost:// link handler. AppImage is not built: its bundler
# downloads its tools while it runs.
#
# `package.sh stage` only prepares what the bundler takes from target/packaging (the
# terminal client, the manual pages, the changelog), for a release build that runs the
# bundler itself (.github/workflows/release.yml).
set -euo pipefail
cd "$(dirname "$0")/.."
stage=target/packaging
rm -rf "$stage"
mkdir -p "$stage/man"

# The terminal client and its manual pages (rendered from the same definition as --help).
cargo build --release --locked -p sealpost-client --bin sealpost --example manual
cp target/release/sealpost "$stage/sealpost"
target/release/examples/manual "$stage/man"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
sed "s/@VERSION@/$version/" packaging/linux/sealpost-desktop.1 >"$stage/man/sealpost-desktop.1"
# Compressed without names or times, so the same source gives the same package.
gzip -9n "$stage"/man/*.1
gzip -9nc packaging/linux/changelog >"$stage/changelog.gz"
[ "${1:-}" = stage ] && exit 0

# The desktop app, built and bundled by the Tauri CLI (the UI is built first by the
# config's beforeBuildCommand). SEALPOST_UPDATER_PUBKEY, when set, is the public key the
# app checks its updates against, instead of the one in tauri.conf.json (the package test
# makes a key of its own; a release takes the release key).
config=()
if [ -n "${SEALPOST_UPDATER_PUBKEY:-}" ]; then
  config=(--config "{\"plugins\": {\"updater\": {\"pubkey\": \"$SEALPOST_UPDATER_PUBKEY\"}}}")
fi
TAURI_APP_PATH="$PWD/src-tauri" TAURI_FRONTEND_PATH="$PWD/ui" \
  ui/node_modules/.bin/tauri build --bundles deb,rpm "${config[@]}"
ls -l target/release/bundle/deb/*.deb target/release/bundle/rpm/*.rpm
