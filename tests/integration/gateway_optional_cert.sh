#!/usr/bin/env bash
# With [tls] client_cert = "request", one host serves a public path to
# clients without a certificate, shows a readable 403 on protected paths,
# and a route with its own client_ca accepts only that CA's clients. An
# invalid certificate is still refused in the handshake.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CERTS=$WORK/certs
"$CERTGATE_BIN" pki demo --out "$CERTS" >/dev/null || exit 1
"$CERTGATE_BIN" pki init --dir "$WORK/partner-ca" --cn "Partner Root CA" --no-intermediate \
  >/dev/null || exit 1
"$CERTGATE_BIN" pki issue --dir "$WORK/partner-ca" --client --cn partner --out "$WORK/partner" \
  >/dev/null || exit 1
cat "$CERTS/ca.crt" "$WORK/partner-ca/root.crt" >"$WORK/client-cas.crt"

GATEWAY_PORT=$(free_port)
UPSTREAM_PORT=$(free_port)
mkdir -p "$WORK/conf"
cat >"$WORK/conf/gateway.toml" <<TOML
[server]
listen = ["127.0.0.1:$GATEWAY_PORT"]
[tls]
cert = "$CERTS/server.crt"
key = "$CERTS/server.key"
client_ca = "$WORK/client-cas.crt"
client_cert = "request"
[policy]
file = "policy.toml"
TOML
cat >"$WORK/conf/policy.toml" <<TOML
[upstreams.demo]
address = "127.0.0.1:$UPSTREAM_PORT"
[[routes]]
exact = "/headers"
upstream = "demo"
public = true
[[routes]]
prefix = "/secret"
upstream = "demo"
allow_cn = ["good-client", "partner"]
[[routes]]
prefix = "/echo"
upstream = "demo"
client_ca = "$WORK/partner-ca/root.crt"
allow_cn = ["good-client", "partner"]
TOML
start_process upstream-demo "$WORK/upstream.log" "listening" \
  "$UPSTREAM_DEMO_BIN" --listen "127.0.0.1:$UPSTREAM_PORT"
start_process certgate "$WORK/gateway.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/conf/gateway.toml"
GATEWAY_PID=$STARTED_PID
BASE=https://localhost:$GATEWAY_PORT

# as CLIENT_PREFIX ARGS...: curl as the client whose files are PREFIX.crt
# and PREFIX.key ("" for no certificate), printing the body and the status.
as() {
  local prefix=$1
  shift
  local args=(-sS --max-time 10 --cacert "$CERTS/ca.crt" -w ' status=%{http_code}')
  [[ -n $prefix ]] && args+=(--cert "$prefix.crt" --key "$prefix.key")
  curl "${args[@]}" "$@" 2>&1
}

out=$(as "" -H 'X-Client-CN: spoofed' "$BASE/headers")
expect_contains "public path answers without a certificate" "$out" "status=200"
if grep -qi '^x-client-cn' <<<"$out"; then
  fail "an identity header reached the upstream on the public path: $out"
else
  pass "public path sends no identity header, spoofed copies removed"
fi
out=$(as "" "$BASE/secret")
expect_contains "protected path without a certificate gets 403" "$out" "status=403"
expect_contains "the 403 explains that a certificate is needed" "$out" \
  "Client certificate required"
expect_contains "good client reaches the protected path" "$(as "$CERTS/client_good" "$BASE/secret")" \
  "status=200"
expect_contains "partner client (second CA) reaches the protected path" \
  "$(as "$WORK/partner" "$BASE/secret")" "Welcome partner!"
expect_contains "partner client passes the route's own client_ca" \
  "$(as "$WORK/partner" --data-binary hello "$BASE/echo")" "hello status=200"
expect_contains "demo-CA client is refused by the route's own client_ca" \
  "$(as "$CERTS/client_good" --data-binary hello "$BASE/echo")" "status=403"
grep -q "policy.denied .*cn=good-client .*route=/echo .*client_ca" "$WORK/gateway.log" &&
  pass "the route CA refusal is logged" || fail "no policy.denied line for the route client_ca"
# A kept-alive connection without a certificate stays usable across a
# reload (there is no certificate to check again).
cat >"$WORK/keepalive.py" <<'PY'
import http.client, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
for _ in range(2):
    conn.request("GET", "/headers")
    response = conn.getresponse()
    response.read()
    print(response.status, flush=True)
    sys.stdin.readline()
PY
coproc KEEPALIVE (python3 -u "$WORK/keepalive.py" "$GATEWAY_PORT" "$CERTS/ca.crt")
read -r -t 10 first <&"${KEEPALIVE[0]}"
kill -HUP "$GATEWAY_PID"
sleep 0.5
echo >&"${KEEPALIVE[1]}"
read -r -t 10 second <&"${KEEPALIVE[0]}"
[[ $first == 200 && $second == 200 ]] &&
  pass "a certificate-less keep-alive connection works across a reload" ||
  fail "certificate-less keep-alive across a reload gave '$first' then '$second'"
echo >&"${KEEPALIVE[1]}" 2>/dev/null
wait "$KEEPALIVE_PID" 2>/dev/null

# When a reload switches to client_cert = "require", the next request on a
# certificate-less kept-alive connection gets 403 and the connection ends.
coproc KEEPALIVE (python3 -u "$WORK/keepalive.py" "$GATEWAY_PORT" "$CERTS/ca.crt" 2>&1)
read -r -t 10 first <&"${KEEPALIVE[0]}"
sed -i 's/^client_cert = "request"$/client_cert = "require"/' "$WORK/conf/gateway.toml"
kill -HUP "$GATEWAY_PID"
sleep 0.5
echo >&"${KEEPALIVE[1]}"
read -r -t 10 second <&"${KEEPALIVE[0]}"
[[ $first == 200 && $second == 403 ]] &&
  pass "a certificate-less connection is refused after a reload to require" ||
  fail "after the reload to require the connection gave '$first' then '$second'"
echo >&"${KEEPALIVE[1]}" 2>/dev/null
grep -q 'config.reloaded .*client_cert request->require' "$WORK/gateway.log" &&
  pass "the reload names the client_cert change" || fail "no client_cert change in config.reloaded"

expect_contains "an expired certificate is still refused in the handshake" \
  "$(as "$CERTS/client_expired" "$BASE/headers")" "alert certificate expired"
finish
