#!/usr/bin/env bash
# Runs a command beside a throwaway Garage (a real S3 server) on loopback, with
# SEALPOST_TEST_S3 naming its endpoint, bucket and key: the hub's tests then keep each test
# hub's encrypted files there, under a prefix of their own. One node, its data in a
# temporary folder, stopped and removed afterwards. Garage is built once by
# scripts/install-deps.sh into the tools folder.
set -euo pipefail
tools="${SEALPOST_TOOLS:-$HOME/.cache/sealpost}"
garage="$tools/garage/bin/garage"
[ -x "$garage" ] || { echo "Garage is not installed: run scripts/install-deps.sh" >&2; exit 1; }
tmp="$(mktemp -d /tmp/sealpost-garage-XXXXXX)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rpc="$(free_port)"; s3="$(free_port)"
cat > "$tmp/garage.toml" <<TOML
metadata_dir = "$tmp/meta"
data_dir = "$tmp/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$rpc"
rpc_secret = "$(openssl rand -hex 32)"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3"
root_domain = ".s3.garage.localhost"
TOML
export GARAGE_CONFIG_FILE="$tmp/garage.toml"
"$garage" server >"$tmp/log" 2>&1 &
pid=$!
stop() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap stop EXIT
for _ in $(seq 100); do
  "$garage" status >/dev/null 2>&1 && break
  sleep 0.1
done
node="$("$garage" node id -q 2>/dev/null | cut -d@ -f1)"
"$garage" layout assign -z dc1 -c 1G "$node" >/dev/null
"$garage" layout apply --version 1 >/dev/null
"$garage" bucket create sealpost-test >/dev/null
key="$("$garage" key create sealpost-test)"
key_id="$(printf '%s\n' "$key" | awk '/Key ID:/ {print $3}')"
secret="$(printf '%s\n' "$key" | awk '/Secret key:/ {print $3}')"
"$garage" bucket allow --read --write sealpost-test --key sealpost-test >/dev/null
SEALPOST_TEST_S3="http://127.0.0.1:$s3 sealpost-test garage $key_id $secret" "$@"
