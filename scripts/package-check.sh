#!/usr/bin/env bash
# Builds the Linux packages (scripts/package.sh) with an update key made for this run, and
# checks them as a person installing them would meet them, on this Debian machine:
#   1. lintian finds no error and no warning in the .deb;
#   2. the .rpm's header and file list are what they should be (rpm -qpi, -qpl), and its
#      payload holds the same programs as the .deb (rpm2cpio);
#   3. `apt-get install ./….deb` installs it: both programs run, their manual pages, the
#      menu entry and its icons are in place, and the desktop knows the app opens
#      sealpost:// links (xdg-mime);
#   4. the installed app starts under Xvfb, shows its first screen, registers with a hub
#      on loopback and shows the inbox (a WebDriver test of /usr/bin/sealpost-desktop);
#   5. the installed app takes an update only from its own hub, refuses a package changed
#      on the way and a manifest that misnames the version, and installs the genuine one
#      (a copy of the package relabelled one version later, signed with this run's key,
#      whose signature the independent minisign tool checks first, and
#      `sealpost-hub admin updates` passes as published, and fails once the package changed);
#   6. `apt-get remove` leaves none of its files behind, and the link handler is gone;
#   7. from a signed apt repository made here (apt-ftparchive, a gpg key of this run),
#      `apt-get install sealpost` installs it, and the same repository signed by a key apt
#      was not given is refused.
# It installs and removes the package `sealpost` system-wide, so it needs root (or sudo),
# and refuses to run where a sealpost package is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
deb="target/release/bundle/deb/Sealpost_${version}_amd64.deb"
rpm="target/release/bundle/rpm/Sealpost-${version}-1.x86_64.rpm"
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
fail() {
  echo "package-check: $*" >&2
  exit 1
}

# This run's update key (minisign, made by the Tauri CLI; no password). Its private half
# lives in target/ and signs only this run's test update.
keys=target/packaging-test
rm -rf "$keys"
mkdir -p "$keys"
ui/node_modules/.bin/tauri signer generate --ci -p "" -w "$keys/update.key" >/dev/null
SEALPOST_UPDATER_PUBKEY=$(cat "$keys/update.key.pub") ./scripts/package.sh

# The Debian changelog names the version being packaged (the workspace's, in Cargo.toml).
head -1 packaging/linux/changelog | grep -q "^sealpost ($version) " ||
  fail "packaging/linux/changelog does not start with an entry for $version"

echo "== lintian"
# Warnings fail too: one that is right for this package gets an override, with its reason,
# in the package's lintian overrides.
lintian --fail-on error,warning --tag-display-limit 0 "$deb"

echo "== rpm header and files"
info=$(rpm -qpi "$rpm" 2>/dev/null)
for field in "Name *: sealpost" "Version *: $version" "License *: AGPL-3.0-or-later" \
  "Summary *: Secure messages from your organisation"; do
  grep -Eq "^$field\$" <<<"$info" || fail "the .rpm's header lacks '$field'"
done
files=$(rpm -qpl "$rpm" 2>/dev/null)
expected=(/usr/bin/sealpost /usr/bin/sealpost-desktop /usr/share/applications/Sealpost.desktop
  /usr/share/icons/hicolor/128x128/apps/sealpost-desktop.png
  /usr/share/man/man1/sealpost.1.gz /usr/share/man/man1/sealpost-desktop.1.gz
  /usr/share/man/man1/sealpost-sync.1.gz /usr/share/doc/sealpost/copyright)
for f in "${expected[@]}"; do
  grep -qx "$f" <<<"$files" || fail "the .rpm does not hold $f"
done
# Its payload unpacks, and its programs are the very ones the .deb carries (which the rest of
# this check installs and runs): an rpm cannot be installed on this Debian machine.
mkdir "$keys/rpm" "$keys/deb"
# (rpm2cpio 4.18 exits 1 after writing the whole payload; what cpio unpacks is checked below.)
{ rpm2cpio "$rpm" || true; } | (cd "$keys/rpm" && cpio -idm --quiet)
dpkg-deb -x "$deb" "$keys/deb"
cmp -s "$keys/rpm/usr/bin/sealpost" "$keys/deb/usr/bin/sealpost" ||
  fail "the .rpm's sealpost is not the .deb's"
# The bundler writes the package type into the app (its updater installs the same kind):
# the two differ in those three bytes only, RPM for DEB.
differ=$(for byte in $(cmp -l "$keys/rpm/usr/bin/sealpost-desktop" "$keys/deb/usr/bin/sealpost-desktop" |
  awk '{print $2}'); do printf "\\$byte"; done)
[ "$differ" = RPM ] || fail "the .rpm's sealpost-desktop differs from the .deb's in more than its package type"
[ "$("$keys/rpm/usr/bin/sealpost" --version)" = "sealpost $version" ] ||
  fail "the .rpm's sealpost does not run as version $version"

echo "== install"
if dpkg-query -W -f='${Status}' sealpost 2>/dev/null | grep -q "ok installed"; then
  fail "a sealpost package is installed on this machine already; this check installs and removes its own (remove it first: apt-get remove sealpost)"
fi
remove() { DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get purge -y -qq sealpost >/dev/null 2>&1 || true; }
trap remove EXIT
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "./$deb" >/dev/null
installed=$(dpkg-query -L sealpost)
[ "$(sealpost --version)" = "sealpost $version" ] || fail "sealpost --version says $(sealpost --version)"
sealpost --help | grep -q "Usage: sealpost" || fail "sealpost --help shows no usage"
for page in sealpost sealpost-desktop sealpost-sync sealpost-mailbox-invite; do
  man -w "$page" >/dev/null || fail "no manual page $page(1)"
  # The page renders with no complaint from groff.
  warnings=$(MANWIDTH=80 man --warnings "$page" 2>&1 >/dev/null)
  [ -z "$warnings" ] || fail "man $page warns: $warnings"
done
desktop_file=/usr/share/applications/Sealpost.desktop
desktop-file-validate "$desktop_file"
grep -qx "Exec=sealpost-desktop %u" "$desktop_file" || fail "the menu entry does not pass links to the app"
for size in 32x32 128x128; do
  [ -s "/usr/share/icons/hicolor/$size/apps/sealpost-desktop.png" ] || fail "no $size icon"
done
# A person with no settings of their own: the desktop's default for sealpost:// links
# comes from the package alone.
fresh_home=$(mktemp -d)
handler=$(env -i PATH=/usr/bin:/bin HOME="$fresh_home" xdg-mime query default x-scheme-handler/sealpost)
[ "$handler" = "Sealpost.desktop" ] || fail "sealpost:// links open with '$handler', not the app"
installed_kib=$(dpkg-query -W -f='${Installed-Size}' sealpost)
echo "installed: $installed_kib KiB (the .deb: $(($(stat -c %s "$deb") / 1024)) KiB)"
# Figures for docs/benchmarks.md (scripts/bench.sh sets SEALPOST_FIGURES).
if [ -n "${SEALPOST_FIGURES:-}" ]; then
  {
    echo "| the .deb | $(($(stat -c %s "$deb") / 1024)) KiB |"
    echo "| the .rpm | $(($(stat -c %s "$rpm") / 1024)) KiB |"
    echo "| installed (dpkg's Installed-Size) | $installed_kib KiB |"
  } >>"$SEALPOST_FIGURES"
  # Cold start of the installed app, measured as the desktop benchmark measures the build.
  ./scripts/with-keyring.sh env SEALPOST_BENCH_APP=/usr/bin/sealpost-desktop \
    cargo bench --locked -p sealpost-desktop --bench app 2>"$keys/bench-app.log" >>"$SEALPOST_FIGURES.app" ||
    fail "the desktop benchmark of the installed app failed; its log is $keys/bench-app.log"
fi

echo "== a newer version to update to"
# The same package relabelled as the next patch version, and signed for it.
next=$(awk -F. '{printf "%d.%d.%d", $1, $2, $3 + 1}' <<<"$version")
newer="$keys/Sealpost_${next}_amd64.deb"
dpkg-deb -R "$deb" "$keys/newer"
sed -i "s/^Version: .*/Version: $next/" "$keys/newer/DEBIAN/control"
dpkg-deb --root-owner-group -b "$keys/newer" "$newer" >/dev/null
ui/node_modules/.bin/tauri signer sign -f "$keys/update.key" -p "" --app-version "$next" "$newer" >/dev/null
# An independent check of the signature the app will check: minisign itself.
base64 -d "$keys/update.key.pub" >"$keys/update.pub"
base64 -d "$newer.sig" >"$keys/newer.minisig"
minisign -V -q -p "$keys/update.pub" -m "$newer" -x "$keys/newer.minisig" ||
  fail "minisign does not accept the update's signature"
# The hub's own check of a publication, on the Tauri CLI's real output: a hub whose updates
# folder holds the package and a manifest as the admin guide writes one.
hub() { cargo run --locked -q -p sealpost-hub -- "$@"; }
hub init --data "$keys/hub" --org-name "Package check" --org-domain example.org \
  --public-url http://127.0.0.1:9 >/dev/null
printf '\n[updates]\ndir = "updates"\n' >>"$keys/hub/hub.toml"
mkdir "$keys/hub/updates"
cp "$newer" "$keys/hub/updates/"
printf '{"version": "%s", "platforms": {"linux-x86_64-deb": {"url": "%s", "signature": "%s"}}}\n' \
  "$next" "$(basename "$newer")" "$(cat "$newer.sig")" >"$keys/hub/updates/latest.json"
published=$(SEALPOST_LOG=warn hub admin --data "$keys/hub" updates --release-key "$keys/update.key.pub") ||
  fail "admin updates refuses a good publication: $published"
grep -q "signature good, signed as $next" <<<"$published" || fail "admin updates: $published"
printf x >>"$keys/hub/updates/$(basename "$newer")"
if published=$(SEALPOST_LOG=warn hub admin --data "$keys/hub" updates --release-key "$keys/update.key.pub"); then
  fail "admin updates passes a package changed after signing: $published"
fi

echo "== the installed app, in a window"
# The workspace's features, as `make test` built the test binaries: nothing rebuilds.
SEALPOST_INSTALLED_APP=/usr/bin/sealpost-desktop SEALPOST_UPDATE_PACKAGE="$PWD/$newer" \
  SEALPOST_UPDATE_VERSION="$next" ./scripts/with-keyring.sh \
  cargo nextest run --workspace --all-features --locked --run-ignored only --test-threads 1 \
  -E 'binary(journey) & test(/^installed::/)'
[ "$(dpkg-query -W -f='${Version}' sealpost)" = "$next" ] ||
  fail "the update to $next is not what dpkg has installed"

echo "== remove"
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get remove -y -qq sealpost >/dev/null
left=()
while read -r path; do
  # Folders shared with other packages (/usr/bin, /usr/share/man/man1…) stay.
  [ -e "$path" ] && [ ! -d "$path" ] && left+=("$path")
done <<<"$installed"
((${#left[@]} == 0)) || fail "apt-get remove left: ${left[*]}"
for dir in /usr/share/doc/sealpost; do
  [ ! -e "$dir" ] || fail "apt-get remove left $dir"
done
handler=$(env -i PATH=/usr/bin:/bin HOME="$fresh_home" xdg-mime query default x-scheme-handler/sealpost)
[ -z "$handler" ] || fail "sealpost:// links still open with '$handler' after removal"
rm -rf "$fresh_home"

echo "== a signed apt repository"
# A flat repository as an organisation would publish on its own server (docs/admin-guide.md,
# "Your own apt repository"), read by apt with its own source list and state, so the
# machine's sources are left alone.
repo="$PWD/$keys/apt"
mkdir -p "$repo"
cp "$deb" "$repo/"
(cd "$repo" && apt-ftparchive packages . >Packages && gzip -9nk Packages &&
  apt-ftparchive -o APT::FTPArchive::Release::Origin=Sealpost-test \
    -o APT::FTPArchive::Release::Suite=stable release . >Release)
export GNUPGHOME="$PWD/$keys/gnupg"
mkdir -m 700 -p "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key "Sealpost test repository <repository@sealpost.example>" ed25519 sign never
gpg --batch --quiet --export >"$PWD/$keys/repository.gpg"
sign_repo() { # the Release file signed by the key $1
  rm -f "$repo/InRelease" "$repo/Release.gpg"
  gpg --batch --quiet --yes --local-user "$1" --clearsign -o "$repo/InRelease" "$repo/Release"
  gpg --batch --quiet --yes --local-user "$1" --armor --detach-sign -o "$repo/Release.gpg" "$repo/Release"
}
echo "deb [signed-by=$PWD/$keys/repository.gpg] file:$repo ./" >"$keys/sources.list"
mkdir -p "$keys/lists/partial"
apt_repo=(-o "Dir::Etc::SourceList=$PWD/$keys/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$PWD/$keys/lists" -o "APT::Sandbox::User=root")
sign_repo repository@sealpost.example
$sudo_cmd apt-get "${apt_repo[@]}" update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get "${apt_repo[@]}" install -y -qq sealpost >/dev/null
[ "$(dpkg-query -W -f='${Version}' sealpost)" = "$version" ] || fail "apt did not install sealpost $version from the repository"
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get purge -y -qq sealpost >/dev/null
# Signed by someone else: apt refuses the repository and offers nothing from it.
gpg --batch --quiet --passphrase '' --quick-gen-key "Someone else <someone@elsewhere.example>" ed25519 sign never
sign_repo someone@elsewhere.example
rm -rf "$keys/lists"
mkdir -p "$keys/lists/partial"
if $sudo_cmd apt-get "${apt_repo[@]}" update -qq 2>"$keys/apt-refused.log"; then
  fail "apt took a repository signed by a key it was not given"
fi
grep -q "NO_PUBKEY\|not signed" "$keys/apt-refused.log" || fail "apt refused the repository for another reason: $(cat "$keys/apt-refused.log")"
# Nothing of the refused repository is offered for installing.
candidate=$(apt-cache "${apt_repo[@]}" policy sealpost 2>/dev/null | sed -n 's/^ *Candidate: //p')
[ -z "$candidate" ] || [ "$candidate" = "(none)" ] ||
  fail "apt offers sealpost $candidate from a repository it does not trust"

echo "package-check: the .deb and the .rpm are as they should be"
