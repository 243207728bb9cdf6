#!/usr/bin/env bash
# `make run`: a demo hub for "Example Council" (example.gov.uk) under .demo/, with secure
# messages waiting for referrals@partner.example, and the desktop app opened on it (ready to
# register from the link, or signed in when it remembers the mailbox). A second run reuses
# everything. Without a display the hub alone runs, and the link is printed.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${SEALPOST_DEMO_PORT:-8080}"
data=".demo/hub"
target="${CARGO_TARGET_DIR:-target}"
hub="$target/debug/sealpost-hub"
app="$target/debug/sealpost-desktop"
to="referrals@partner.example"
staff="case.worker@example.gov.uk"

cargo build --locked --quiet -p sealpost-hub -p sealpost-desktop

if [ ! -f "$data/hub.toml" ]; then
  "$hub" init --data "$data" --org-name "Example Council" --org-domain example.gov.uk \
    --public-url "http://127.0.0.1:$port"
fi

send() { "$hub" send --data "$data" --from "$staff" --to "$to" "$@" > /dev/null; }
if [ ! -f .demo/sent ]; then
  send --subject "Referral for Mrs Jones: care plan attached" \
    --body "Hello, please find the care plan for Mrs Jones attached. Could you confirm the first visit date? Thanks, Case Worker, Example Council" \
    --attach demo/care-plan.txt
  send --subject "Notes from Monday's multi-agency meeting" \
    --body "Hello, the notes from Monday and the consent form are attached. Please return the form signed before the package starts." \
    --attach demo/meeting-notes.txt --attach demo/consent-form.txt
  send --subject "Please confirm the visit rota by Friday" --keep-days 3 \
    --body "Hello, could you confirm this week's visit rota by Friday? This message is kept for three days only."
  send --subject "Welcome to Example Council's secure messages" \
    --body "Hello, from now on we will send you confidential information through Sealpost. Reply from the app to reach us securely. See https://www.example.gov.uk/secure-messages for help." \
    --body-html-file demo/welcome.html
  date > .demo/sent
fi

link="$(grep -h -o 'http://[^[:space:]]*/register?token=[A-Za-z0-9_-]*' "$data"/outbox/*.eml 2>/dev/null | tail -n 1 || true)"
echo
echo "Demo hub for Example Council at http://127.0.0.1:$port, data in $data"
echo "Emails the hub sent are in $data/outbox/"
if [ -n "$link" ]; then
  echo "Registration link for $to (works once):"
  echo "  $link"
fi

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo
  echo "There is no display here (neither DISPLAY nor WAYLAND_DISPLAY is set), so the desktop"
  echo "app cannot open. The hub runs on its own: register with the link above from the"
  echo "terminal client (\`sealpost register LINK\`) or run \`make run\` in a desktop session."
  echo "Stop with Ctrl-C."
  exec "$hub" serve --data "$data" --listen "127.0.0.1:$port"
fi

"$hub" serve --data "$data" --listen "127.0.0.1:$port" &
hub_pid=$!
trap 'kill "$hub_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$port/healthz" > /dev/null 2>&1 && break
  sleep 0.1
done

# The demo's mailboxes stay apart from any real ones of this user.
export SEALPOST_DATA_DIR="$PWD/.demo/app"
args=()
if [ -n "$link" ] && [ ! -f "$SEALPOST_DATA_DIR/accounts.json" ]; then
  # The deep-link form of the emailed link: the app opens on Register with it filled in.
  token="${link##*token=}"
  args+=("sealpost://register?hub=http%3A%2F%2F127.0.0.1%3A$port&token=$token")
fi
echo "Opening the app. The password rules show as you type; close the window to stop."
"$app" "${args[@]}"
