#!/usr/bin/env bash
# Reloads under continuous load drop nothing: while clients send requests
# over new and kept-alive connections, the policy is reloaded ten times
# (and once with a broken file); every request must get a complete answer.
# Also checks certificates the policy must tell apart: a SAN-only
# certificate (no CN) matched by a URI rule, and a server certificate (EKU
# serverAuth) used as a client certificate, refused in the handshake.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CA=$WORK/ca
pki() { "$CERTGATE_BIN" pki "$@" >>"$WORK/pki.log" 2>&1 || { cat "$WORK/pki.log" >&2; exit 1; }; }
pki init --dir "$CA" --cn "Load Root CA"
pki issue --dir "$CA" --server --cn localhost --san dns:localhost --san ip:127.0.0.1 \
  --out "$WORK/server"
pki issue --dir "$CA" --client --cn alice --out "$WORK/alice"
# certgate pki always sets a CN, so the SAN-only certificate (subject O=Corp
# only) is made with openssl and signed by the intermediate CA.
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/batch.key" 2>/dev/null
openssl req -new -key "$WORK/batch.key" -subj "/O=Corp" -out "$WORK/batch.csr" 2>/dev/null
printf 'subjectAltName=URI:spiffe://corp/ns/prod/sa/batch\nextendedKeyUsage=clientAuth\n' \
  >"$WORK/batch.ext"
openssl x509 -req -in "$WORK/batch.csr" -CA "$CA/intermediate.crt" -CAkey "$CA/intermediate.key" \
  -CAcreateserial -days 30 -extfile "$WORK/batch.ext" -out "$WORK/batch-leaf.crt" 2>/dev/null
cat "$WORK/batch-leaf.crt" "$CA/intermediate.crt" >"$WORK/batch.crt"

GATEWAY_PORT=$(free_port)
UPSTREAM_PORT=$(free_port)
mkdir -p "$WORK/conf"
cat >"$WORK/conf/gateway.toml" <<TOML
[server]
listen = ["127.0.0.1:$GATEWAY_PORT"]
log_level = "warn"
[tls]
cert = "$WORK/server.crt"
key = "$WORK/server.key"
client_ca = "$CA/root.crt"
[policy]
file = "policy.toml"
TOML
write_policy() {
  cat >"$WORK/conf/policy.toml" <<TOML
[upstreams.demo]
address = "127.0.0.1:$UPSTREAM_PORT"
[[routes]]
prefix = "/secret"
upstream = "demo"
allow_cn = ["alice", "extra-$1"]
[[routes]]
exact = "/headers"
upstream = "demo"
allow = [{ uri = "spiffe://corp/ns/prod/*" }]
TOML
}
write_policy 0
start_process upstream-demo "$WORK/upstream.log" "listening" \
  "$UPSTREAM_DEMO_BIN" --listen "127.0.0.1:$UPSTREAM_PORT"
start_process certgate "$WORK/gateway.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/conf/gateway.toml"
GATEWAY_PID=$STARTED_PID

# Load: 4 clients, each 60 requests over kept-alive connections, and 60
# single-request connections, all counted by status.
cat >"$WORK/load.py" <<'PY'
import concurrent.futures, http.client, ssl, sys
port, ca, prefix = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(prefix + ".crt", prefix + ".key")
def keepalive(_):
    codes = []
    conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
    for _ in range(60):
        try:
            conn.request("GET", "/secret")
            response = conn.getresponse()
            response.read()
            codes.append(response.status)
        except (OSError, http.client.HTTPException) as error:
            codes.append(type(error).__name__)
            conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
    return codes
def single(_):
    try:
        conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
        conn.request("GET", "/secret", headers={"Connection": "close"})
        response = conn.getresponse()
        response.read()
        return [response.status]
    except (OSError, http.client.HTTPException) as error:
        return [type(error).__name__]
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    results = list(pool.map(keepalive, range(4))) + list(pool.map(single, range(60)))
codes = [code for result in results for code in result]
print(len(codes), sum(1 for code in codes if code == 200))
PY
python3 "$WORK/load.py" "$GATEWAY_PORT" "$CA/root.crt" "$WORK/alice" >"$WORK/load.out" &
LOAD_PID=$!
for i in $(seq 1 10); do
  write_policy "$i"
  kill -HUP "$GATEWAY_PID"
  sleep 0.15
  if [[ $i == 5 ]]; then
    echo 'routes = "broken' >>"$WORK/conf/policy.toml"
    kill -HUP "$GATEWAY_PID"
    sleep 0.15
  fi
done
wait "$LOAD_PID"
read -r total ok <"$WORK/load.out"
[[ $total == 300 && $ok == 300 ]] && pass "300 requests during 11 reloads, all answered 200" ||
  fail "during reloads $ok of $total requests got 200"
log_failed=$(grep -c "config.reload_failed" "$WORK/gateway.log" || true)
[[ $log_failed == 1 ]] && pass "the broken file was rejected once and logged" ||
  fail "expected one config.reload_failed line, found $log_failed"

headers=$(curl -sS --max-time 10 --cacert "$CA/root.crt" --cert "$WORK/batch.crt" \
  --key "$WORK/batch.key" -w 'status=%{http_code}' "https://localhost:$GATEWAY_PORT/headers" 2>&1)
expect_contains "SAN-only workload certificate matches the URI rule" "$headers" "status=200"
expect_contains "its SAN reaches the upstream" "$headers" \
  "X-Client-SAN: URI:spiffe://corp/ns/prod/sa/batch"
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$CA/root.crt" \
  --cert "$WORK/batch.crt" --key "$WORK/batch.key" "https://localhost:$GATEWAY_PORT/secret")
[[ $status == 403 ]] && pass "a certificate without CN matches no CN rule" ||
  fail "the SAN-only certificate got $status on a CN-only route"
out=$(curl -sS --max-time 10 --cacert "$CA/root.crt" --cert "$WORK/server.crt" \
  --key "$WORK/server.key" "https://localhost:$GATEWAY_PORT/secret" 2>&1)
expect_contains "a serverAuth-only certificate is refused as a client" "$out" "alert"
finish
