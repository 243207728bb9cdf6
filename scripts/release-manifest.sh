#!/usr/bin/env bash
# Writes a release's update manifest (latest.json, the Tauri updater's format) from the
# updater packages' signatures, once every platform's job has added its packages to the
# draft release (.github/workflows/release.yml; jobs that each rewrote the manifest could
# drop one another's platforms).
#
#   scripts/release-manifest.sh VERSION BASE_URL DIR > latest.json
#
# DIR holds the release's .sig files, named as the packages they sign plus ".sig"; each
# package's url is BASE_URL/NAME. Every platform of the release must be there, once:
#   Linux .deb and .rpm, Windows .msi and NSIS setup.exe, macOS .app for Apple silicon and
#   Intel (the Windows and macOS ones also under their platform's plain key; NSIS is the
#   Windows default, as it updates without an administrator).
# Exits 1, naming what is missing or unknown, rather than write a partial manifest.
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 VERSION BASE_URL DIR" >&2
  exit 2
fi
python3 - "$@" <<'PY'
import datetime, json, os, re, sys

version, base, folder = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3]
# The package names the Tauri bundler and tauri-action give, and the updater's keys for them.
kinds = [
    (rf"_{re.escape(version)}_amd64\.deb$", ["linux-x86_64-deb"]),
    (rf"-{re.escape(version)}-1\.x86_64\.rpm$", ["linux-x86_64-rpm"]),
    (rf"_{re.escape(version)}_x64_en-US\.msi$", ["windows-x86_64-msi"]),
    (rf"_{re.escape(version)}_x64-setup\.exe$", ["windows-x86_64-nsis", "windows-x86_64"]),
    (r"_aarch64\.app\.tar\.gz$", ["darwin-aarch64-app", "darwin-aarch64"]),
    (r"_x64\.app\.tar\.gz$", ["darwin-x86_64-app", "darwin-x86_64"]),
]
platforms, problems = {}, []
for sig in sorted(f for f in os.listdir(folder) if f.endswith(".sig")):
    package = sig[: -len(".sig")]
    keys = next((k for pattern, k in kinds if re.search(pattern, package)), None)
    if keys is None:
        problems.append(f"{sig}: not a package of a platform of version {version}")
        continue
    # The .sig file is the signature in base64; the updater takes it with nothing around it.
    signature = open(os.path.join(folder, sig)).read().strip()
    for key in keys:
        if key in platforms:
            problems.append(f"{sig}: a second package for {key}")
        platforms[key] = {"url": f"{base}/{package}", "signature": signature}
for _, keys in kinds:
    if keys[0] not in platforms:
        problems.append(f"no signed package for {keys[0]}")
if problems:
    sys.exit("release-manifest: " + "; ".join(problems))
manifest = {
    "version": version,
    "notes": f"Sealpost {version}",
    "pub_date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "platforms": platforms,
}
print(json.dumps(manifest, indent=2))
PY
