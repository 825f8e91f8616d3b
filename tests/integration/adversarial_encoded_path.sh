#!/usr/bin/env bash
# Percent-encoded letters in the request path must not route around the
# policy. Many upstreams decode "%73" to "s" before they route, and
# Python's http.server, used here, is one of them. So a client allowed only
# on "/" must not reach the file "/secret" as "/%73ecret".
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CERTS=$WORK/certs
"$CERTGATE_BIN" pki demo --out "$CERTS" >/dev/null || exit 1
GATEWAY_PORT=$(free_port)
UPSTREAM_PORT=$(free_port)
mkdir -p "$WORK/conf" "$WORK/site"
echo "public page" >"$WORK/site/index.html"
echo "TOP-SECRET-FILE" >"$WORK/site/secret"
cat >"$WORK/conf/gateway.toml" <<TOML
[server]
listen = ["127.0.0.1:$GATEWAY_PORT"]
[tls]
cert = "$CERTS/server.crt"
key = "$CERTS/server.key"
chain = "$CERTS/ca.crt"
client_ca = "$CERTS/ca.crt"
[policy]
file = "policy.toml"
TOML
cat >"$WORK/conf/policy.toml" <<TOML
[upstreams.files]
address = "127.0.0.1:$UPSTREAM_PORT"
[[routes]]
prefix = "/secret"
upstream = "files"
allow_cn = ["good-client"]
[[routes]]
prefix = "/"
upstream = "files"
allow_cn = ["second-client"]
TOML

start_process http.server "$WORK/upstream.log" "Serving HTTP" \
  python3 -u -m http.server "$UPSTREAM_PORT" --bind 127.0.0.1 --directory "$WORK/site"
start_process certgate "$WORK/gateway.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/conf/gateway.toml"
BASE=https://localhost:$GATEWAY_PORT

# gw CLIENT ARGS...: curl through the gateway as CLIENT. It prints the body
# and then "status=CODE".
gw() {
  local client=$1
  shift
  curl -sS --max-time 10 --path-as-is --cacert "$CERTS/ca.crt" --cert "$CERTS/$client.crt" \
    --key "$CERTS/$client.key" -w 'status=%{http_code}' "$@"
}

# The setup itself: the owner reads the file and the other client is denied.
expect_contains "good-client reads /secret" "$(gw client_good "$BASE/secret")" "TOP-SECRET-FILE"
expect_contains "second-client is denied /secret" "$(gw client_second "$BASE/secret")" \
  "status=403"

for path in /%73ecret /%73%65%63%72%65%74 /sec%72et /secre%74; do
  output=$(gw client_second "$BASE$path")
  if [[ $output == *TOP-SECRET-FILE* ]]; then
    fail "second-client read /secret through $path: $output"
  else
    pass "$path does not bypass the /secret route (${output##*status=})"
  fi
done

finish
