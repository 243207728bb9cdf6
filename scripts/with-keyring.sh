#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring: a real
# Secret Service for the keyring tests, whose files live in a temporary folder.
#
# The session has its own service file for the Secret Service: should the daemon stop
# mid-run (it has been seen to, under two clients at once), the next request starts it
# again, unlocked and on the same folder, instead of D-Bus starting the system's daemon,
# locked and elsewhere, for every later test to fail on.
set -euo pipefail
if [ -z "${SEALPOST_KEYRING_SESSION:-}" ]; then
  tmp="$(mktemp -d)"
  mkdir -p "$tmp/data" "$tmp/run" "$tmp/services"
  chmod 700 "$tmp/run"
  cat > "$tmp/keyring.sh" <<EOF
#!/bin/sh
export XDG_DATA_HOME="$tmp/data" XDG_RUNTIME_DIR="$tmp/run"
printf 'sealpost-test' | exec gnome-keyring-daemon --unlock --components=secrets --foreground
EOF
  chmod +x "$tmp/keyring.sh"
  printf '[D-BUS Service]\nName=org.freedesktop.secrets\nExec=%s\n' "$tmp/keyring.sh" \
    > "$tmp/services/org.freedesktop.secrets.service"
  # Our service directory first: D-Bus takes the first file that names a service.
  sed "s|<standard_session_servicedirs />|<servicedir>$tmp/services</servicedir><standard_session_servicedirs />|" \
    /usr/share/dbus-1/session.conf > "$tmp/session.conf"
  status=0
  dbus-run-session --config-file="$tmp/session.conf" -- \
    env SEALPOST_KEYRING_SESSION=1 SEALPOST_KEYRING_TMP="$tmp" "$0" "$@" || status=$?
  pkill -f "$tmp/keyring.sh" 2>/dev/null || true
  rm -rf "$tmp"
  exit "$status"
fi
tmp="$SEALPOST_KEYRING_TMP"
daemon_pid=""
cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
}
trap cleanup EXIT
export XDG_DATA_HOME="$tmp/data" XDG_RUNTIME_DIR="$tmp/run"
# Without --unlock the daemon starts locked and every call fails or hangs.
eval "$(printf 'sealpost-test' | gnome-keyring-daemon --unlock --components=secrets --daemonize)"
daemon_pid="${GNOME_KEYRING_PID:-}"
export GNOME_KEYRING_CONTROL
export SEALPOST_REAL_KEYRING=1
"$@"
