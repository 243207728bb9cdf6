#!/usr/bin/env bash
# `make run`: a demo hub for "Example Council" (example.gov.uk) under .demo/, with a secure
# message waiting for referrals@partner.example. A second run reuses everything.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${SEALPOST_DEMO_PORT:-8080}"
data=".demo/hub"
target="${CARGO_TARGET_DIR:-target}"
bin="$target/debug/sealpost-hub"

cargo build --locked --quiet -p sealpost-hub

if [ ! -f "$data/hub.toml" ]; then
  "$bin" init --data "$data" --org-name "Example Council" --org-domain example.gov.uk \
    --public-url "http://127.0.0.1:$port"
fi

if [ ! -f .demo/sent ]; then
  "$bin" send --data "$data" \
    --from "case.worker@example.gov.uk" \
    --to "referrals@partner.example" \
    --subject "Referral for Mrs Jones: care plan attached" \
    --body "Hello, please find the care plan for Mrs Jones attached. Could you confirm the first visit date? Thanks, Case Worker, Example Council" \
    --attach demo/care-plan.txt > .demo/sent
fi

link="$(grep -h -o 'http://[^[:space:]]*/register?token=[A-Za-z0-9_-]*' "$data"/outbox/*.eml 2>/dev/null | tail -n 1 || true)"
echo
echo "Demo hub for Example Council, data in $data"
echo "Emails the hub sent are in $data/outbox/"
if [ -n "$link" ]; then
  echo "Registration link for referrals@partner.example (works once):"
  echo "  $link"
fi
echo "Stop with Ctrl-C."
echo
exec "$bin" serve --data "$data" --listen "127.0.0.1:$port"
