#!/usr/bin/env bash
# What operators see: JSON logs, the admin endpoints (/metrics checked with
# the Prometheus text parser from python3-prometheus-client, /healthz,
# /readyz, /identities), rate-limited rejection logs, and two instances
# sharing session ticket keys behind HAProxy in TCP mode.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CERTS=$WORK/certs
"$CERTGATE_BIN" pki demo --out "$CERTS" >/dev/null || exit 1
UPSTREAM_PORT=$(free_port)
start_process upstream-demo "$WORK/upstream.log" "listening" \
  "$UPSTREAM_DEMO_BIN" --listen "127.0.0.1:$UPSTREAM_PORT"

# write_instance NAME PORT ADMIN_PORT [TICKET_KEY_FILE]
write_instance() {
  local dir=$WORK/$1
  mkdir -p "$dir"
  write_demo_config "$dir" "$CERTS" "$2" "$UPSTREAM_PORT" "$3"
  sed -i -e 's/log_level = "info"/log_level = "info"\nlog_format = "json"/' \
    -e "s#listen = \\[\"127.0.0.1:$2\", \"\\[::1\\]:$2\"\\]#listen = [\"127.0.0.1:$2\"]#" \
    "$dir/gateway.toml"
  if [[ -n ${4:-} ]]; then
    sed -i "s#min_version = \"1.3\"#min_version = \"1.3\"\nticket_key_file = \"$4\"#" \
      "$dir/gateway.toml"
  fi
}

PORT_A=$(free_port)
ADMIN_A=$(free_port)
od -An -tx1 -N48 /dev/urandom | tr -d ' \n' >"$WORK/tickets.key"
echo >>"$WORK/tickets.key"
write_instance a "$PORT_A" "$ADMIN_A" "$WORK/tickets.key"
start_process certgate-a "$WORK/a.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/a/gateway.toml"

# curl_as CLIENT URL: prints the HTTP status, or 000 on a handshake failure.
curl_as() {
  local args=(-s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$CERTS/ca.crt")
  [[ -n $1 ]] && args+=(--cert "$CERTS/$1.crt" --key "$CERTS/$1.key")
  curl "${args[@]}" "$2"
}
URL_A=https://localhost:$PORT_A/secret
[[ $(curl_as client_good "$URL_A") == 200 ]] && pass "good client gets 200" || fail "good client"
[[ $(curl_as client_second "$URL_A") == 403 ]] && pass "second client gets 403" ||
  fail "second client"
curl_as "" "$URL_A" >/dev/null
for _ in 1 2 3 4 5; do
  curl_as client_expired "$URL_A" >/dev/null
done
sleep 0.3

# --- admin endpoints ----------------------------------------------------------
ADMIN=http://127.0.0.1:$ADMIN_A
[[ $(curl -s -o /dev/null -w '%{http_code}' "$ADMIN/healthz") == 200 ]] &&
  pass "/healthz answers 200" || fail "/healthz"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$ADMIN/readyz") == 200 ]] &&
  pass "/readyz answers 200" || fail "/readyz"
curl -s "$ADMIN/metrics" >"$WORK/metrics.txt"
checks=$(/usr/bin/python3 - "$WORK/metrics.txt" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
samples = {}
for family in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in family.samples:
        samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
def get(name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)
print("ok_full", int(get("certgate_handshakes_total", result="ok", reason="full")))
print("no_cert", int(get("certgate_handshakes_total", result="rejected", reason="no_certificate")))
print("expired", int(get("certgate_handshakes_total", result="rejected", reason="expired")))
print("deny", int(get("certgate_requests_total", route="/secret", decision="deny",
                      status_class="4xx")))
print("allow", int(get("certgate_requests_total", route="/secret", decision="allow",
                       status_class="2xx")))
print("identities", int(get("certgate_client_identities", window="all")))
expiry = get("certgate_certificate_expiry_seconds", role="server", subject="CN=demo-server")
print("server_expiry_positive", int(expiry > 0))
PY
)
for want in "ok_full 2" "no_cert 1" "expired 5" "deny 1" "allow 1" "identities 3" \
  "server_expiry_positive 1"; do
  expect_contains "metrics parse and show $want" "$checks" "$want"
done
# The cache of verified chains contains the two accepted clients; a second
# full handshake of the good client is its first hit.
metrics=$(curl -s "$ADMIN/metrics")
expect_contains "the chain cache contains the two accepted chains" "$metrics" \
  $'\ncertgate_chain_cache_entries 2\n'
expect_contains "no chain cache hit yet" "$metrics" \
  $'\ncertgate_chain_cache_lookups_total{result="hit"} 0\n'
[[ $(curl_as client_good "$URL_A") == 200 ]] || fail "good client, second handshake"
expect_contains "a repeated client certificate is a chain cache hit" "$(curl -s "$ADMIN/metrics")" \
  $'\ncertgate_chain_cache_lookups_total{result="hit"} 1\n'
identities=$(curl -s "$ADMIN/identities")
parsed=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(sorted(e["cn"]+":"+e["last_decision"] for e in d))' <<<"$identities")
expect_contains "/identities lists each client with its last decision" "$parsed" \
  "'expired-client:rejected:expired', 'good-client:allow', 'second-client:deny'"

# --- logs ---------------------------------------------------------------------
if python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin if l.startswith("{")]' \
  <"$WORK/a.log"; then
  pass "every log line is valid JSON"
else
  fail "a log line is not valid JSON"
fi
access=$(grep '"event":"http.request"' "$WORK/a.log" | grep '"status":"200"' | head -1)
for field in '"tls":"TLSv1.3"' '"cipher":' '"cn":"good-client"' '"sha256":' \
  '"rule":' '"upstream":"127.0.0.1:' '"bytes_out":' '"total_ms":'; do
  expect_contains "access log has $field" "$access" "$field"
done
logged=$(grep -c '"reason":"expired"' "$WORK/a.log")
[[ $logged == 3 ]] && pass "5 expired rejections logged 3 times (1st, 2nd, 4th)" ||
  fail "expected 3 logged expired rejections, found $logged"
expect_contains "the 4th rejection reports one suppressed" \
  "$(grep '"reason":"expired"' "$WORK/a.log" | tail -1)" '"suppressed":"1"'

# --- shared ticket keys across instances --------------------------------------
PORT_B=$(free_port)
write_instance b "$PORT_B" "$(free_port)" "$WORK/tickets.key"
start_process certgate-b "$WORK/b.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/b/gateway.toml"
PORT_C=$(free_port)
write_instance c "$PORT_C" "$(free_port)"
start_process certgate-c "$WORK/c.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/c/gateway.toml"

# s_client_session PORT IN|OUT FILE: one request, printing New/Reused.
s_client_session() {
  printf 'GET /secret HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
    timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername localhost \
      -CAfile "$CERTS/ca.crt" -cert "$CERTS/client_good.crt" -key "$CERTS/client_good.key" \
      "-sess_$2" "$3" -ign_eof 2>/dev/null | grep -E '^(New|Reused),|Welcome'
}
s_client_session "$PORT_A" out "$WORK/session.pem" >/dev/null
result=$(s_client_session "$PORT_B" in "$WORK/session.pem")
expect_contains "instance B resumes a session from instance A" "$result" "Reused, TLSv1.3"
expect_contains "the resumed request is served" "$result" "Welcome good-client!"
result=$(s_client_session "$PORT_C" in "$WORK/session.pem")
expect_contains "an instance without the shared keys makes a full handshake" "$result" \
  "New, TLSv1.3"

# --- HAProxy in TCP mode in front of A and B -----------------------------------
if command -v haproxy >/dev/null; then
  LB_PORT=$(free_port)
  cat >"$WORK/haproxy.cfg" <<CFG
global
  maxconn 100
defaults
  mode tcp
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend gateway
  bind 127.0.0.1:$LB_PORT
  default_backend instances
backend instances
  balance roundrobin
  server a 127.0.0.1:$PORT_A
  server b 127.0.0.1:$PORT_B
CFG
  haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
  STARTED_PIDS+=($!)
  sleep 0.5
  s_client_session "$LB_PORT" out "$WORK/lb-session.pem" >/dev/null
  reused=0
  for _ in 1 2 3 4; do
    s_client_session "$LB_PORT" in "$WORK/lb-session.pem" | grep -q '^Reused' && reused=$((reused + 1))
  done
  [[ $reused == 4 ]] && pass "behind HAProxy every connection resumes, whichever instance" ||
    fail "behind HAProxy only $reused of 4 connections resumed"
else
  fail "haproxy is not installed (scripts/install-deps.sh test installs it)"
fi
finish
