#!/usr/bin/env bash
# The gateway in front of the demo upstream, driven by curl: identity
# headers, header stripping, bodies both ways, keep-alive, local replies
# (400, 404, 403, 431, 502) and reload.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CERTS=$WORK/certs
"$CERTGATE_BIN" pki demo --out "$CERTS" >/dev/null || exit 1
GATEWAY_PORT=$(free_port)
UPSTREAM_PORT=$(free_port)
write_gateway_config "$WORK/conf" "$CERTS" "$GATEWAY_PORT" "tls.chain=\"$CERTS/ca.crt\"" \
  timeouts.upstream_connect_ms=2000 timeouts.upstream_response_ms=5000 limits.max_header_bytes=8192
write_policy() {
  cat >"$WORK/conf/policy.toml" <<TOML
[upstreams.demo]
address = "127.0.0.1:$UPSTREAM_PORT"
[[routes]]
prefix = "/"
upstream = "demo"
allow_cn = ["good-client"]
[[routes]]
prefix = "/secret"
upstream = "demo"
allow_cn = [$1]
TOML
}
write_policy '"good-client"'

start_process upstream-demo "$WORK/upstream.log" "listening" \
  "$UPSTREAM_DEMO_BIN" --listen "127.0.0.1:$UPSTREAM_PORT"
UPSTREAM_PID=$STARTED_PID
start_process certgate "$WORK/gateway.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/conf/gateway.toml"
GATEWAY_PID=$STARTED_PID
BASE=https://localhost:$GATEWAY_PORT

# gw CLIENT ARGS...: curl through the gateway as CLIENT.
gw() {
  local client=$1
  shift
  curl -sS --max-time 20 --cacert "$CERTS/ca.crt" --cert "$CERTS/$client.crt" \
    --key "$CERTS/$client.key" "$@"
}

# --- identity headers ---------------------------------------------------------
headers=$(gw client_good "$BASE/headers" -H 'X-Client-CN: admin' -H 'x-client-cn: admin2' \
  -H 'X_Client_CN: admin3' -H 'X-CLIENT-SUBJECT: CN=admin' -H 'X-Client-Cert-Sha256: 00')
expect_contains "upstream receives the verified CN" "$headers" "X-Client-CN: good-client"
expect_contains "upstream receives the subject" "$headers" "X-Client-Subject: CN=good-client"
fingerprint=$(openssl x509 -in "$CERTS/client_good.crt" -outform DER | sha256sum | cut -d' ' -f1)
expect_contains "upstream receives the fingerprint" "$headers" "X-Client-Cert-Sha256: $fingerprint"
for spoof in admin admin2 admin3 CN=admin; do
  if grep -qi -- "$spoof\$" <<<"$headers"; then
    fail "spoofed identity value '$spoof' reached the upstream: $headers"
  else
    pass "spoofed identity value '$spoof' stripped"
  fi
done
count=$(grep -ci '^x.client.cn:' <<<"$headers")
[[ $count == 1 ]] && pass "exactly one X-Client-CN reaches the upstream" ||
  fail "expected one X-Client-CN header, found $count"

# --- bodies -------------------------------------------------------------------
head -c $((5 * 1024 * 1024)) /dev/urandom >"$WORK/upload.bin"
want=$(sha256sum <"$WORK/upload.bin" | cut -d' ' -f1)
got=$(gw client_good "$BASE/echo" --data-binary @"$WORK/upload.bin" | sha256sum | cut -d' ' -f1)
[[ $got == "$want" ]] && pass "5 MiB Content-Length upload echoed unchanged" ||
  fail "Content-Length upload differs after the round trip"
got=$(gw client_good "$BASE/echo" -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/upload.bin" |
  sha256sum | cut -d' ' -f1)
[[ $got == "$want" ]] && pass "5 MiB chunked upload echoed unchanged" ||
  fail "chunked upload differs after the round trip"

size=$((32 * 1024 * 1024))
direct=$(curl -sS "http://127.0.0.1:$UPSTREAM_PORT/bytes?n=$size" -H 'X-Client-CN: t' |
  sha256sum | cut -d' ' -f1)
proxied=$(gw client_good "$BASE/bytes?n=$size" | sha256sum | cut -d' ' -f1)
[[ $direct == "$proxied" ]] && pass "32 MiB download identical through the gateway" ||
  fail "download through the gateway differs from the upstream's bytes"
direct=$(curl -sS "http://127.0.0.1:$UPSTREAM_PORT/chunked?n=500" -H 'X-Client-CN: t')
proxied=$(gw client_good "$BASE/chunked?n=500")
[[ $direct == "$proxied" ]] && pass "chunked response relayed unchanged" ||
  fail "chunked response differs through the gateway"
head_out=$(gw client_good -I "$BASE/secret")
expect_contains "HEAD gets the headers" "$head_out" "HTTP/1.1 200"

# --- keep-alive (pipelining: raw_proxy_messages.sh) ----------------------------
connects=$(gw client_good -o /dev/null -o /dev/null -w '%{num_connects}\n' "$BASE/secret" \
  "$BASE/secret" | paste -sd' ')
[[ $connects == "1 0" ]] && pass "second request reuses the connection" ||
  fail "keep-alive: num_connects per request was '$connects', expected '1 0'"
# Separate client connections reuse one pooled upstream connection.
for _ in 1 2 3; do
  gw client_good -o /dev/null "$BASE/secret"
done
upstream_conns=$(grep 'demo.request' "$WORK/upstream.log" | tail -3 | grep -o 'conn=[0-9]*' | sort -u |
  wc -l)
[[ $upstream_conns == 1 ]] && pass "three client connections share one pooled upstream connection" ||
  fail "three client connections used $upstream_conns upstream connections"

# --- local replies ----------------------------------------------------------------
status=$(gw client_good -o /dev/null -w '%{http_code}' --path-as-is "$BASE/secret/../headers")
[[ $status == 400 ]] && pass "dot segment gets 400" || fail "dot segment gave $status, not 400"
status=$(gw client_good -o /dev/null -w '%{http_code}' "$BASE/secret%2f..%2fheaders")
[[ $status == 400 ]] && pass "encoded slash gets 400" || fail "encoded slash gave $status"
big=$(printf 'a%.0s' $(seq 1 9000))
status=$(gw client_good -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$BASE/secret")
[[ $status == 431 ]] && pass "oversized header section gets 431" ||
  fail "oversized header gave $status, not 431"
body=$(gw client_second -w 'status=%{http_code}' "$BASE/secret")
expect_contains "unauthorized client gets 403" "$body" "status=403"
expect_contains "403 body names the reason" "$body" "Access denied: client not authorized"
plain=$(curl -sS --max-time 5 "http://127.0.0.1:$GATEWAY_PORT/secret" -w ' %{http_code}')
expect_contains "plain HTTP to the TLS port gets a readable 400" "$plain" "expects HTTPS"

# --- reload -------------------------------------------------------------------------
write_policy '"good-client", "second-client"'
kill -HUP "$GATEWAY_PID"
sleep 0.5
status=$(gw client_second -o /dev/null -w '%{http_code}' "$BASE/secret")
[[ $status == 200 ]] && pass "SIGHUP reload applies the new policy" ||
  fail "after reload second-client got $status, not 200"
grep -Eq 'config.reloaded .*version=1 .*changed="route /secret" duration_ms=[0-9]+\.[0-9]{3}' \
  "$WORK/gateway.log" &&
  pass "the reload is logged with its version, the changed route and its duration" ||
  fail "no config.reloaded line naming version 1, route /secret and duration_ms"
echo 'routes = "broken' >>"$WORK/conf/policy.toml"
kill -HUP "$GATEWAY_PID"
sleep 0.5
status=$(gw client_second -o /dev/null -w '%{http_code}' "$BASE/secret")
[[ $status == 200 ]] && pass "a broken policy file on reload keeps the old policy" ||
  fail "after a failed reload second-client got $status"
grep -q "config.reload_failed" "$WORK/gateway.log" && pass "failed reload is logged" ||
  fail "no config.reload_failed line in the gateway log"

# --- upstream down ------------------------------------------------------------------
kill "$UPSTREAM_PID"
wait "$UPSTREAM_PID" 2>/dev/null
body=$(gw client_good -w ' %{http_code}' "$BASE/secret")
expect_contains "upstream down gives 502" "$body" "502"
grep -q "upstream.error .*status=502" "$WORK/gateway.log" && pass "upstream error is logged" ||
  fail "no upstream.error line for the 502"

# --- shutdown -------------------------------------------------------------------------
kill -TERM "$GATEWAY_PID"
for ((i = 0; i < 50; i++)); do
  kill -0 "$GATEWAY_PID" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$GATEWAY_PID" 2>/dev/null; then
  fail "gateway still running 5 s after SIGTERM"
else
  wait "$GATEWAY_PID"
  code=$?
  [[ $code == 0 ]] && pass "SIGTERM stops the gateway with exit 0" ||
    fail "gateway exited with $code after SIGTERM"
fi
finish
