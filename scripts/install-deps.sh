#!/usr/bin/env bash
# Installs what building and testing Sealpost needs on a Debian machine, skipping what is
# already there. Safe to run again.
set -euo pipefail

# Build: SQLCipher links the system libcrypto; the keyring talks D-Bus (libdbus).
# Tests: the Go `age` CLI checks that the hub's ciphertext is real age; gnome-keyring in a
# private D-Bus session is the real Secret Service the client's keyring tests use; Python
# runs an independent SQLCipher build (the PyPI sqlcipher3 wheel) against the vault.
# Desktop app: WebKitGTK and friends to build the Tauri shell; Xvfb, WebKitWebDriver, a
# notification daemon (dunst) and xdotool (to drive the real GTK file dialog) to test it;
# imagemagick keeps screenshots of the test run; python3-gi with GTK 3 is the window files
# are dragged from (and dropped on) in the drag-and-drop tests; desktop-file-utils lets the
# app register sealpost:// links with the desktop; poppler-utils reads back the PDF a
# message is saved as; at-spi2-core and gir1.2-atspi-2.0 let a test read the window's
# accessibility tree as a screen reader does. The openssl command makes the self-signed
# certificate of the test that a refused certificate is said as such; curl and python3-venv
# serve the API conformance run (scripts/api-conformance.sh). python3-nacl (libsodium) opens
# the hub's sealed fields independently of the hub's own code. postgresql-15 is the real
# server the hub's suite runs on a second time (scripts/with-postgres.sh). python3-dkim
# (dkimpy) signs the DKIM test messages, as a gateway other than the hub's own code would.
# Packages (scripts/package-check.sh): lintian checks the .deb, rpm reads the .rpm,
# xdg-utils asks the desktop which app opens sealpost:// links, man-db shows the manual pages,
# minisign checks an update's signature independently of the app, and sudo is how the
# installed app's updater runs the package tool (as it would for a person); apt-utils
# (apt-ftparchive) and gnupg make and sign the test's own apt repository; python3-yaml reads
# the release workflow and shellcheck its scripts, for actionlint (scripts/release-check.sh);
# cpio unpacks the .rpm's payload. openbox (a window manager) asks the app's
# window to close and wmctrl tells it to, in the tray test.
packages=(build-essential pkg-config libssl-dev openssl curl python3-venv libdbus-1-dev age dbus dbus-x11 gnome-keyring
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  desktop-file-utils poppler-utils xvfb xauth webkit2gtk-driver dunst xdotool imagemagick python3-gi
  gir1.2-gtk-3.0 at-spi2-core gir1.2-atspi-2.0 python3-nacl postgresql-15 postfix python3-dkim
  lintian rpm xdg-utils man-db minisign sudo apt-utils gnupg python3-yaml shellcheck cpio openbox wmctrl)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  # Postfix is the tests' mail gateway, run from their own configuration on loopback:
  # the package is not to set up a system mail server of its own.
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo_cmd debconf-set-selections
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$component"
  fi
done

# The test runner: one process per test, a clear summary line.
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install cargo-nextest --locked
fi

# Drives the real app through WebKitWebDriver in the end-to-end tests.
if ! tauri-driver --help >/dev/null 2>&1; then
  cargo install tauri-driver --locked --version 2.1.0
fi

# The desktop UI's own packages, exactly as package-lock.json pins them.
if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  (cd ui && npm ci --no-audit --no-fund)
fi

# schemathesis checks the hub against its own OpenAPI document (scripts/api-conformance.sh).
# Its own virtualenv, outside the checkout, kept between runs.
tools="${SEALPOST_TOOLS:-$HOME/.cache/sealpost}"
if ! "$tools/st-venv/bin/st" --version 2>/dev/null | grep -q '4.32.5'; then
  mkdir -p "$tools"
  python3 -m venv "$tools/st-venv"
  "$tools/st-venv/bin/pip" install --quiet --disable-pip-version-check schemathesis==4.32.5
fi

# An independent SQLCipher build for the vault interoperability test.
if ! python3 -c "import sqlcipher3" >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check sqlcipher3
fi

# Garage, a real S3 server, for the tests of attachments kept in a bucket. Built once
# (about 16 minutes on two cores) into the tools folder outside the checkout, and kept.
if ! "$tools/garage/bin/garage" --version 2>/dev/null | grep -q '2.5.0'; then
  echo "building Garage 2.5.0 (once; kept in $tools/garage)"
  cargo install garage@2.5.0 --locked --no-default-features \
    --features bundled-libs,sqlite,lmdb --root "$tools/garage"
fi
