#!/usr/bin/env bash
# `make bench`: runs the benchmarks (release builds) and prints Markdown tables to paste,
# with the date, into docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "# Sealpost benchmarks, $(date -u +%Y-%m-%d), $(nproc) cores"
echo
cargo bench --locked -p sealpost-hub --bench signin 2>/dev/null
