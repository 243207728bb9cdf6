#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring: a real
# Secret Service for the keyring tests, whose files live in a temporary folder.
set -euo pipefail
if [ -z "${SEALPOST_KEYRING_SESSION:-}" ]; then
  exec dbus-run-session -- env SEALPOST_KEYRING_SESSION=1 "$0" "$@"
fi
tmp="$(mktemp -d)"
daemon_pid=""
cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
export XDG_DATA_HOME="$tmp/data" XDG_RUNTIME_DIR="$tmp/run"
mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
# Without --unlock the daemon starts locked and every call fails or hangs.
eval "$(printf 'sealpost-test' | gnome-keyring-daemon --unlock --components=secrets --daemonize)"
daemon_pid="${GNOME_KEYRING_PID:-}"
export GNOME_KEYRING_CONTROL
export SEALPOST_REAL_KEYRING=1
"$@"
