#!/usr/bin/env bash
# [limits] max_connections: at the limit a new client's TCP connect succeeds
# (the kernel completes it into the listen backlog) but its TLS handshake
# waits until a connection closes, and then it is served. /healthz responds
# meanwhile, the saturation is logged once, and SIGTERM still drains and
# exits 0 while a client waits. CERTGATE_TEST_WORKERS=N (tests/lib/common.sh)
# runs it with [server] workers = N.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CERTS=$WORK/certs
"$CERTGATE_BIN" pki demo --out "$CERTS" >/dev/null || exit 1
GATEWAY_PORT=$(free_port)
UPSTREAM_PORT=$(free_port)
ADMIN_PORT=$(free_port)
write_demo_config "$WORK/conf" "$CERTS" "$GATEWAY_PORT" "$UPSTREAM_PORT" "$ADMIN_PORT"
sed -i 's/^max_connections = .*/max_connections = 2/' "$WORK/conf/gateway.toml"
grep -q '^max_connections = 2$' "$WORK/conf/gateway.toml" ||
  { echo "FAIL: could not set max_connections in the test configuration" >&2; exit 1; }

start_process upstream-demo "$WORK/upstream.log" "listening" \
  "$UPSTREAM_DEMO_BIN" --listen "127.0.0.1:$UPSTREAM_PORT"
start_process certgate "$WORK/gateway.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/conf/gateway.toml"
GATEWAY_PID=$STARTED_PID

# The client side of the whole sequence. It prints one "NAME VALUE" line
# per observation and sends SIGTERM to the gateway at the end.
timeout 60 python3 - "$GATEWAY_PORT" "$ADMIN_PORT" "$CERTS" "$GATEWAY_PID" \
  >"$WORK/client.out" 2>"$WORK/client.err" <<'PY'
import os, signal, socket, ssl, sys, time, urllib.request
port, admin, certs, gateway_pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
ctx = ssl.create_default_context(cafile=f"{certs}/ca.crt")
ctx.load_cert_chain(f"{certs}/client_good.crt", f"{certs}/client_good.key")

def report(name, value):
    print(name, value, flush=True)

def connect():
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="localhost", do_handshake_on_connect=False)

def handshake_within(conn, seconds):
    conn.settimeout(seconds)
    try:
        conn.do_handshake()
        return "done"
    except (socket.timeout, ssl.SSLWantReadError):
        return "waiting"
    except OSError as error:
        return f"error:{error}"

def get(conn, path):
    conn.settimeout(10)
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    answer = conn.recv(4096)
    return answer.split(b"\r\n", 1)[0].decode("latin-1").split(" ")[1] if answer else "none"

def admin_get(path):
    with urllib.request.urlopen(f"http://127.0.0.1:{admin}{path}", timeout=5) as response:
        return response.status, response.read().decode()

held = [connect(), connect()]
for index, conn in enumerate(held):
    report(f"held{index}_handshake", handshake_within(conn, 10))
    report(f"held{index}_status", get(conn, "/secret"))

extra = connect()
report("extra_tcp_connect", "ok")
report("extra_handshake_at_limit", handshake_within(extra, 1.5))
status, _ = admin_get("/healthz")
report("healthz_at_limit", status)
_, metrics = admin_get("/metrics")
paused = [line for line in metrics.splitlines() if line.startswith("certgate_listeners_paused")]
report("listeners_paused", paused[0].split()[-1] if paused else "missing")

held.pop(0).close()
report("extra_handshake_after_close", handshake_within(extra, 10))
report("extra_status", get(extra, "/secret"))

# At the limit again (held[0] and extra are open): one more waiter, then
# SIGTERM while it waits.
late = connect()
report("late_handshake_at_limit", handshake_within(late, 1.5))
os.kill(gateway_pid, signal.SIGTERM)
late.settimeout(15)
try:
    late.do_handshake()
    late.sendall(b"GET /secret HTTP/1.1\r\nHost: localhost\r\n\r\n")
    report("late_after_term", "served" if late.recv(4096) else "closed")
except OSError:
    report("late_after_term", "closed")
PY
echo "client exit: $?"
cat "$WORK/client.out"
sed 's/^/client stderr: /' "$WORK/client.err"
observed() { awk -v name="$1" '$1 == name { print $2 }' "$WORK/client.out"; }

[[ $(observed held0_status) == 200 && $(observed held1_status) == 200 ]] &&
  pass "two clients up to the limit get 200" || fail "clients up to the limit"
[[ $(observed extra_tcp_connect) == ok ]] &&
  pass "TCP connect over the limit succeeds" || fail "TCP connect over the limit"
[[ $(observed extra_handshake_at_limit) == waiting ]] &&
  pass "TLS handshake over the limit waits" ||
  fail "handshake over the limit: $(observed extra_handshake_at_limit)"
[[ $(observed healthz_at_limit) == 200 ]] &&
  pass "/healthz answers at the limit" || fail "/healthz at the limit"
[[ $(observed listeners_paused) -ge 1 ]] 2>/dev/null &&
  pass "certgate_listeners_paused is at least 1 at the limit" ||
  fail "certgate_listeners_paused: $(observed listeners_paused)"
[[ $(observed extra_handshake_after_close) == done ]] &&
  pass "waiting handshake completes once a connection closes" ||
  fail "waiting handshake after a close: $(observed extra_handshake_after_close)"
[[ $(observed extra_status) == 200 ]] &&
  pass "waiting client is served 200" || fail "waiting client status: $(observed extra_status)"
[[ $(observed late_handshake_at_limit) == waiting ]] &&
  pass "second saturation: handshake waits" || fail "second saturation handshake"
[[ $(observed late_after_term) == closed ]] &&
  pass "waiting client is closed by the drain" ||
  fail "waiting client after SIGTERM: $(observed late_after_term)"

for _ in $(seq 1 100); do
  kill -0 "$GATEWAY_PID" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$GATEWAY_PID" 2>/dev/null; then
  fail "gateway still running 10 s after SIGTERM"
else
  wait "$GATEWAY_PID"
  code=$?
  [[ $code == 0 ]] && pass "SIGTERM while a client waits exits 0" ||
    fail "gateway exited with $code after SIGTERM"
fi

limit_logs=$(grep -c 'listener.connection_limit ' "$WORK/gateway.log")
[[ $limit_logs == 1 ]] && pass "saturation logged once for two waits" ||
  fail "listener.connection_limit logged $limit_logs times; log:
$(cat "$WORK/gateway.log")"
expect_contains "saturation log names the limit" "$(cat "$WORK/gateway.log")" \
  "max_connections=2"
# The drain closes every connection, which ends the saturation episode.
expect_contains "end of saturation is logged" "$(cat "$WORK/gateway.log")" \
  "listener.connection_limit_cleared"
finish
