#!/usr/bin/env bash
# The peer for the sync benchmark: Dovecot serves the Maildir WORK/far over IMAP on a
# loopback port, and mbsync pulls it into an empty Maildir, once with its default fsync and
# once with `FSync no`. Called by the client benchmark (tests/benches/client.rs), which
# writes the same messages it synced from the hub into WORK/far/cur first.
#
#   scripts/imap-peer.sh WORK
#
# Prints one line per run, two runs per mode:
# `MODE SECONDS PEAK_RSS_KIB USER_SECONDS SYSTEM_SECONDS MESSAGES` (MODE is `fsync` or
# `nofsync`; MESSAGES is how many arrived). Installs dovecot-imapd and isync when missing, runs
# Dovecot as the system user `sealbench` (it refuses to serve mail as root), stops it when
# done. Nothing is deleted between the two timed runs: on a disk without a journal,
# creating many files soon after deleting many is slow.
set -euo pipefail
work="$(cd "$1" && pwd)"
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
if ! command -v mbsync >/dev/null || [ ! -x /usr/sbin/dovecot ]; then
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
    dovecot-imapd isync >/dev/null
  # The package may start a system-wide Dovecot where an init system runs: not ours.
  $sudo_cmd service dovecot stop >/dev/null 2>&1 || true
fi
id sealbench >/dev/null 2>&1 ||
  $sudo_cmd useradd --system --no-create-home --shell /usr/sbin/nologin sealbench
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
mkdir -p "$work/run" "$work/state" "$work/home" "$work/far/new" "$work/far/tmp"
cat > "$work/dovecot.conf" <<EOF
base_dir = $work/run
state_dir = $work/state
log_path = $work/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$work/far:LAYOUT=fs
default_login_user = sealbench
default_internal_user = sealbench
passdb {
  driver = static
  args = password=bench
}
userdb {
  driver = static
  args = uid=sealbench gid=sealbench home=$work/home
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
}
EOF
$sudo_cmd chown -R sealbench: "$work"
$sudo_cmd chmod 755 "$work"
$sudo_cmd /usr/sbin/dovecot -c "$work/dovecot.conf"
# mbsync runs as the caller, into Maildirs of the caller's own.
near_root="$(mktemp -d)"
trap '$sudo_cmd /usr/sbin/dovecot -c "$work/dovecot.conf" stop >/dev/null 2>&1 || true; rm -rf "$near_root"' EXIT
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
# Dovecot indexes the folder on first access: let it do so before timing (a mail server
# that has been running has its index).
$sudo_cmd /usr/bin/doveadm -c "$work/dovecot.conf" mailbox status -u bench messages INBOX >/dev/null

# Each mode twice, into a new Maildir each time: the file system's state (files deleted
# shortly before, by an earlier benchmark) slows file creation for a while, and the
# caller takes the faster of the two.
for run in fsync nofsync fsync-2 nofsync-2; do
  mode="${run%-2}"
  near="$near_root/$run"
  mkdir -p "$near"
  fsync_line=""
  [ "$mode" = nofsync ] && fsync_line="FSync no"
  cat > "$near_root/$run.rc" <<EOF
$fsync_line

IMAPAccount far
Host 127.0.0.1
Port $port
User bench
Pass bench
SSLType None
AuthMechs LOGIN

IMAPStore far
Account far

MaildirStore near
Path $near/
Inbox $near/INBOX
SubFolders Verbatim

Channel pull
Far :far:
Near :near:
Patterns INBOX
Create Near
Sync Pull
SyncState *
EOF
  # %e wall seconds, %M peak RSS in KiB, %U user and %S system CPU seconds.
  stats="$(/usr/bin/time -f '%e %M %U %S' mbsync -c "$near_root/$run.rc" -q -a 2>&1 >/dev/null | tail -1)"
  count="$(find "$near/INBOX" -type f -path '*/cur/*' -o -type f -path '*/new/*' | wc -l)"
  echo "$mode $stats $count"
done
