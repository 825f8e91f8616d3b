#!/usr/bin/env bash
# The five demo scenarios, run against the real gateway and demo upstream
# with real clients (curl and openssl s_client):
#   1. valid, authorized client       -> Status: 200 and the greeting
#   2. expired client certificate     -> handshake fails, alert "certificate expired"
#   3. certificate from a foreign CA  -> handshake fails, alert "unknown ca"
#   4. no client certificate          -> handshake fails, alert "certificate required"
#   5. valid, unauthorized client     -> Status: 403
# plus the server side as openssl s_client reports it, and the gateway's log
# line explaining each rejection. It generates a fresh demo PKI, uses the
# shipped conf/ files, exits non-zero on any mismatch and stops every
# process it started.
#
# Ports: GATEWAY_PORT (default 4443) and UPSTREAM_PORT (default 8080); a
# busy default port is replaced by a free one.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

port_is_free() {
  python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' \
    "$1" 2>/dev/null
}
GATEWAY_PORT=${GATEWAY_PORT:-4443}
UPSTREAM_PORT=${UPSTREAM_PORT:-8080}
port_is_free "$GATEWAY_PORT" || GATEWAY_PORT=$(free_port)
port_is_free "$UPSTREAM_PORT" || UPSTREAM_PORT=$(free_port)

CERTS=$WORK/certs
"$CERTGATE_BIN" pki demo --out "$CERTS" >"$WORK/pki.log" 2>&1 || {
  echo "FAIL: certgate pki demo failed:" >&2
  cat "$WORK/pki.log" >&2
  exit 1
}
write_demo_config "$WORK/conf" "$CERTS" "$GATEWAY_PORT" "$UPSTREAM_PORT"
start_process upstream-demo "$WORK/upstream.log" "listening" \
  "$UPSTREAM_DEMO_BIN" --listen "127.0.0.1:$UPSTREAM_PORT"
start_process certgate "$WORK/gateway.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/conf/gateway.toml"
URL=https://localhost:$GATEWAY_PORT/secret
echo "gateway on https://localhost:$GATEWAY_PORT, upstream on 127.0.0.1:$UPSTREAM_PORT"
echo

# request CLIENT: curl with the client's certificate (none for "") and the
# demo CA; prints the body and "Status: CODE", or curl's error.
request() {
  local client=$1
  local args=(-sS --max-time 10 --cacert "$CERTS/ca.crt" -w 'Status: %{http_code}\n')
  if [[ -n $client ]]; then
    args+=(--cert "$CERTS/$client.crt" --key "$CERTS/$client.key")
  fi
  curl "${args[@]}" "$URL" 2>&1
}

# expect_request LABEL CLIENT STATUS TEXT
expect_request() {
  local label=$1 client=$2 status=$3 text=$4 output
  output=$(request "$client")
  if [[ $output == *"Status: $status"* && $output == *"$text"* ]]; then
    printf '%-34s Status: %s  %s\n' "$label" "$status" "$text"
  else
    fail "$label: expected Status: $status and '$text', got: $output"
  fi
}

# expect_alert LABEL CLIENT ALERT LOG_REASON
expect_alert() {
  local label=$1 client=$2 alert=$3 reason=$4 output
  output=$(request "$client")
  if [[ $output == *"alert $alert"* && $output != *"Status: 2"* ]]; then
    printf '%-34s rejected in the TLS handshake, alert: %s\n' "$label" "$alert"
  else
    fail "$label: expected a handshake failure with alert '$alert', got: $output"
  fi
  sleep 0.2
  if ! grep -q "tls.handshake_rejected .*reason=$reason" "$WORK/gateway.log"; then
    fail "$label: the gateway log has no tls.handshake_rejected line with reason=$reason"
  fi
}

expect_request "1. valid authorized client" client_good 200 "Secret resource. Welcome good-client!"
expect_alert "2. expired certificate" client_expired "certificate expired" expired
expect_alert "3. certificate from a foreign CA" client_foreign "unknown ca" unknown_ca
expect_alert "4. no client certificate" "" "certificate required" no_certificate
expect_request "5. valid unauthorized client" client_second 403 \
  "Access denied: client not authorized"

# What openssl s_client reports about the server, with the good client.
echo
s_client=$(printf 'GET /secret HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
  timeout 10 openssl s_client -connect "localhost:$GATEWAY_PORT" -servername localhost \
    -CAfile "$CERTS/ca.crt" -cert "$CERTS/client_good.crt" -key "$CERTS/client_good.key" \
    -ign_eof 2>&1)
for want in "TLSv1.3" "TLS_AES_256_GCM_SHA384" "0 s:CN = demo-server" "i:CN = Demo Root CA" \
  "1 s:CN = Demo Root CA" "Verify return code: 0 (ok)"; do
  if [[ $s_client == *"$want"* ]]; then
    printf 's_client shows: %s\n' "$want"
  else
    fail "openssl s_client output lacks '$want'"
  fi
done
no_cert=$(printf 'GET /secret HTTP/1.1\r\nHost: localhost\r\n\r\n' |
  timeout 10 openssl s_client -connect "localhost:$GATEWAY_PORT" -CAfile "$CERTS/ca.crt" \
    -ign_eof 2>&1)
if [[ $no_cert == *"alert certificate required"* && $no_cert != *"HTTP/1.1 200"* ]]; then
  echo "s_client without a client certificate: handshake fails (certificate required)"
else
  fail "openssl s_client without a client certificate was not rejected: $no_cert"
fi

# The gateway explains each rejection with the client's identity.
echo
for want in 'reason=expired .*cert_subject="?CN=expired-client' \
  'reason=unknown_ca .*cert_subject="?CN=foreign-client' \
  'policy.denied .*cn=second-client .*path=/secret .*status=403'; do
  if line=$(grep -m1 -E "$want" "$WORK/gateway.log"); then
    echo "gateway log: ${line#* info }"
  else
    fail "the gateway log has no line matching '$want'"
  fi
done
echo
finish
