#!/usr/bin/env bash
# Upstream balancing and limits: round robin over two upstream-demo
# processes, failover when one is down (the request moves on, the client
# sees no error), 502 when all are down, and 413 for an oversized body.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CERTS=$WORK/certs
"$CERTGATE_BIN" pki demo --out "$CERTS" >/dev/null || exit 1
GATEWAY_PORT=$(free_port)
PORT_A=$(free_port)
PORT_B=$(free_port)
write_gateway_config "$WORK/conf" "$CERTS" "$GATEWAY_PORT" limits.max_body_bytes=1000
cat >"$WORK/conf/policy.toml" <<TOML
[upstreams.pool]
addresses = ["127.0.0.1:$PORT_A", "127.0.0.1:$PORT_B"]
[[routes]]
prefix = "/"
upstream = "pool"
allow_cn = ["good-client"]
TOML
start_process upstream-a "$WORK/a.log" "listening" "$UPSTREAM_DEMO_BIN" --listen "127.0.0.1:$PORT_A"
PID_A=$STARTED_PID
start_process upstream-b "$WORK/b.log" "listening" "$UPSTREAM_DEMO_BIN" --listen "127.0.0.1:$PORT_B"
start_process certgate "$WORK/gateway.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/conf/gateway.toml"

status_of() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$CERTS/ca.crt" \
    --cert "$CERTS/client_good.crt" --key "$CERTS/client_good.key" "$@"
}

for _ in 1 2 3 4 5 6; do
  status_of "https://localhost:$GATEWAY_PORT/secret" >/dev/null
done
served_a=$(grep -c 'demo.request' "$WORK/a.log")
served_b=$(grep -c 'demo.request' "$WORK/b.log")
[[ $served_a == 3 && $served_b == 3 ]] && pass "six requests split 3 and 3 over two addresses" ||
  fail "round robin gave $served_a and $served_b requests, expected 3 and 3"

kill "$PID_A"
wait "$PID_A" 2>/dev/null
codes=""
for _ in 1 2 3 4; do
  codes+="$(status_of "https://localhost:$GATEWAY_PORT/secret") "
done
[[ $codes == "200 200 200 200 " ]] && pass "with one address down every request still succeeds" ||
  fail "with one address down the statuses were: $codes"
grep -q "upstream.address_down .*address=127.0.0.1:$PORT_A" "$WORK/gateway.log" &&
  pass "the failed address is logged as down" || fail "no upstream.address_down line"
grep -q "upstream.retry" "$WORK/gateway.log" && pass "the moved request is logged" ||
  fail "no upstream.retry line"

code=$(status_of "https://localhost:$GATEWAY_PORT/echo" --data-binary "$(head -c 2000 /dev/zero | tr '\0' a)")
[[ $code == 413 ]] && pass "a 2000-byte body over a 1000-byte limit gets 413" ||
  fail "oversized body gave $code, not 413"
code=$(status_of "https://localhost:$GATEWAY_PORT/echo" -H 'Transfer-Encoding: chunked' \
  --data-binary "$(head -c 2000 /dev/zero | tr '\0' a)")
[[ $code == 413 || $code == 000 ]] && pass "an oversized chunked body is cut off" ||
  fail "oversized chunked body gave $code"
code=$(status_of "https://localhost:$GATEWAY_PORT/echo" --data-binary "small")
[[ $code == 200 ]] && pass "a small body still passes" || fail "small body gave $code"
finish
