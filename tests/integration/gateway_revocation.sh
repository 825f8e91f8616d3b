#!/usr/bin/env bash
# A three-level PKI from "certgate pki init" in front of the gateway: clients
# with a chain through the intermediate get in; after "pki revoke", "pki crl"
# and SIGHUP the revoked client is refused in the handshake (alert
# "certificate revoked"), on a saved TLS session, and on a keep-alive
# connection opened before the reload, while other clients still pass.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CA=$WORK/ca
pki() { "$CERTGATE_BIN" pki "$@" >>"$WORK/pki.log" 2>&1 || { cat "$WORK/pki.log" >&2; exit 1; }; }
pki init --dir "$CA" --cn "Test Root CA"
pki issue --dir "$CA" --server --cn localhost --san dns:localhost --san ip:127.0.0.1 \
  --out "$WORK/server"
pki issue --dir "$CA" --client --cn alice --out "$WORK/alice"
pki issue --dir "$CA" --client --cn bob --san uri:spiffe://corp/ns/prod/sa/bob --out "$WORK/bob"
pki crl --dir "$CA"

GATEWAY_PORT=$(free_port)
UPSTREAM_PORT=$(free_port)
mkdir -p "$WORK/conf"
cat >"$WORK/conf/gateway.toml" <<TOML
[server]
listen = ["127.0.0.1:$GATEWAY_PORT"]
[tls]
cert = "$WORK/server.crt"
key = "$WORK/server.key"
chain = "$CA/root.crt"
client_ca = "$CA/root.crt"
crl = "$CA/crl.pem"
[policy]
file = "policy.toml"
TOML
cat >"$WORK/conf/policy.toml" <<TOML
[upstreams.demo]
address = "127.0.0.1:$UPSTREAM_PORT"
[[routes]]
prefix = "/secret"
upstream = "demo"
allow_cn = ["alice"]
allow = [{ uri = "spiffe://corp/ns/prod/*" }]
TOML
start_process upstream-demo "$WORK/upstream.log" "listening" \
  "$UPSTREAM_DEMO_BIN" --listen "127.0.0.1:$UPSTREAM_PORT"
start_process certgate "$WORK/gateway.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/conf/gateway.toml"
GATEWAY_PID=$STARTED_PID
URL=https://localhost:$GATEWAY_PORT/secret

request() {
  curl -sS --max-time 10 --cacert "$CA/root.crt" --cert "$WORK/$1.crt" --key "$WORK/$1.key" \
    -w ' status=%{http_code}' "$URL" 2>&1
}
session() {
  printf 'GET /secret HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
    timeout 10 openssl s_client -connect "127.0.0.1:$GATEWAY_PORT" -servername localhost \
      -CAfile "$CA/root.crt" -cert "$WORK/alice.crt" -cert_chain "$WORK/alice.crt" \
      -key "$WORK/alice.key" \
      "-sess_$1" "$WORK/alice.session" -ign_eof 2>&1
}

expect_contains "alice with a three-level chain gets in" "$(request alice)" "status=200"
expect_contains "bob matches the SPIFFE glob rule" "$(request bob)" "Welcome bob!"
session out >/dev/null
expect_contains "alice's saved session resumes before revocation" "$(session in)" "Reused,"

# A keep-alive connection opened before the revocation: one request now,
# one after the reload (when a line arrives on its standard input).
cat >"$WORK/keepalive.py" <<'PY'
import socket, ssl, sys
port, ca, prefix = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(prefix + ".crt", prefix + ".key")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                    server_hostname="localhost")
reader = s.makefile("rb")
def exchange():
    s.sendall(b"GET /secret HTTP/1.1\r\nHost: localhost\r\n\r\n")
    status = reader.readline().decode().strip()
    length = 0
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    reader.read(length)
    print(status, flush=True)
exchange()
sys.stdin.readline()
try:
    exchange()
except OSError as e:
    print("closed", e, flush=True)
PY
coproc KEEPALIVE (python3 -u "$WORK/keepalive.py" "$GATEWAY_PORT" "$CA/root.crt" "$WORK/alice")
read -r -t 10 first <&"${KEEPALIVE[0]}"
expect_contains "keep-alive request before revocation" "$first" "200"

pki revoke --dir "$CA" --cert "$WORK/alice.crt" --reason keyCompromise
pki crl --dir "$CA"
kill -HUP "$GATEWAY_PID"
sleep 0.5

echo >&"${KEEPALIVE[1]}"
read -r -t 10 second <&"${KEEPALIVE[0]}"
expect_contains "the open connection's next request is refused" "$second" "403"
grep -q 'tls.revalidation_failed .*cn=alice .*reason=revoked' "$WORK/gateway.log" &&
  pass "the refusal on the open connection is logged as revoked" ||
  fail "no tls.revalidation_failed line with reason=revoked for alice"

expect_contains "revoked alice is refused in the handshake" "$(request alice)" \
  "alert certificate revoked"
grep -q 'tls.handshake_rejected .*reason=revoked .*cert_subject="\?CN=alice' "$WORK/gateway.log" &&
  pass "the handshake rejection is logged with reason=revoked" ||
  fail "no tls.handshake_rejected line with reason=revoked for alice"
resumed=$(session in)
if [[ $resumed == *"Reused,"* && $resumed == *"Welcome alice"* ]]; then
  fail "alice's saved session still resumed after revocation: $resumed"
else
  pass "alice's saved session no longer resumes after the CRL changed"
fi
expect_contains "bob still gets in" "$(request bob)" "status=200"
finish
