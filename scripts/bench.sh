#!/usr/bin/env bash
# `make bench`: runs the benchmarks (release builds) and prints Markdown tables to paste,
# with the date, into docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# The load generator for the throughput figures.
if ! command -v wrk >/dev/null; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends wrk
fi
echo "# Sealpost benchmarks, $(date -u +%Y-%m-%d), $(nproc) cores"
echo
cargo bench --locked -p sealpost-hub --bench signin 2>/dev/null
echo
cargo bench --locked -p sealpost-hub --bench mailbox 2>/dev/null
echo
cargo bench --locked -p sealpost-hub --bench staff_mail 2>/dev/null
echo
cargo bench --locked -p sealpost-hub --bench rotation 2>/dev/null
echo
./scripts/with-postgres.sh ./scripts/with-garage.sh \
  cargo bench --locked -p sealpost-hub --features testing --bench replicas 2>/dev/null
echo
./scripts/with-postgres.sh ./scripts/with-garage.sh \
  cargo bench --locked -p sealpost-hub --features testing --bench fanout 2>/dev/null
echo
cargo bench --locked -p sealpost-hub --features testing --bench smtp_in 2>/dev/null
echo
# The client benchmark runs the hub binary in its own process.
cargo build --release --locked --quiet -p sealpost-hub
cargo bench --locked -p sealpost-tests --bench client 2>/dev/null
echo
# The desktop app (release), under Xvfb with the real keyring, like the end-to-end test.
./scripts/with-keyring.sh cargo bench --locked -p sealpost-desktop --bench app 2>/dev/null
echo
# The packages: sizes, the installed app's cold start, and an update through the hub
# (scripts/package-check.sh installs, measures, updates and removes).
figures=$(mktemp)
if ! SEALPOST_FIGURES=$figures ./scripts/package-check.sh >target/package-bench.log 2>&1; then
  echo "the package figures failed; the log is target/package-bench.log" >&2
  exit 1
fi
echo "## Packages and updates"
echo
echo "| figure | measured |"
echo "|---|---|"
cat "$figures"
echo
sed -n '/^## /,$p' "$figures.app"
rm -f "$figures" "$figures.app"
