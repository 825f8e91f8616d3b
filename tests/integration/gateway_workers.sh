#!/usr/bin/env bash
# [server] workers = 2: both worker threads serve connections (the kernel
# spreads them by SO_REUSEPORT), a SIGHUP reload reaches both, the admin
# endpoints run on the main thread, and SIGTERM drains both workers and
# exits 0 while a client holds a keep-alive connection.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CERTS=$WORK/certs
"$CERTGATE_BIN" pki demo --out "$CERTS" >/dev/null || exit 1
GATEWAY_PORT=$(free_port)
UPSTREAM_PORT=$(free_port)
ADMIN_PORT=$(free_port)
CERTGATE_TEST_WORKERS=2 write_demo_config "$WORK/conf" "$CERTS" "$GATEWAY_PORT" "$UPSTREAM_PORT" \
  "$ADMIN_PORT"
grep -q '^workers = 2$' "$WORK/conf/gateway.toml" ||
  { echo "FAIL: could not set workers in the test configuration" >&2; exit 1; }

start_process upstream-demo "$WORK/upstream.log" "listening" \
  "$UPSTREAM_DEMO_BIN" --listen "127.0.0.1:$UPSTREAM_PORT"
start_process certgate "$WORK/gateway.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/conf/gateway.toml"
GATEWAY_PID=$STARTED_PID
ADMIN=http://127.0.0.1:$ADMIN_PORT

# status_as CLIENT: one new connection (a new curl process) to /secret.
status_as() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$CERTS/ca.crt" \
    --cert "$CERTS/$1.crt" --key "$CERTS/$1.key" "https://localhost:$GATEWAY_PORT/secret"
}
# count_statuses CLIENT N: N connections; prints "CODE COUNT" per status.
count_statuses() {
  local i
  for ((i = 0; i < $2; i++)); do
    status_as "$1"
    echo
  done | sort | uniq -c | awk '{ print $2, $1 }'
}
# accepted_by WORKER: certgate_connections_accepted_total for one worker.
accepted_by() {
  curl -s "$ADMIN/metrics" |
    awk -v worker="$1" '$1 == "certgate_connections_accepted_total{worker=\"" worker "\"}" {
      print $2 }'
}

[[ $(curl -s "$ADMIN/metrics" | awk '$1 == "certgate_workers" { print $2 }') == 2 ]] &&
  pass "certgate_workers is 2" || fail "certgate_workers is not 2"

statuses=$(count_statuses client_good 40)
[[ $statuses == "200 40" ]] && pass "40 connections get 200" ||
  fail "40 connections: $statuses"
worker0=$(accepted_by 0)
worker1=$(accepted_by 1)
echo "accepted: worker 0: $worker0, worker 1: $worker1"
[[ ${worker0:-0} -gt 0 && ${worker1:-0} -gt 0 ]] &&
  pass "both workers accepted connections" || fail "one worker accepted nothing"
[[ $((${worker0:-0} + ${worker1:-0})) -ge 40 ]] &&
  pass "accepted counts add up to the connections" ||
  fail "accepted counts add up to $((${worker0:-0} + ${worker1:-0}))"

# Reload: allow second-client, then every new connection, on either
# worker, must get the new policy.
[[ $(status_as client_second) == 403 ]] && pass "second-client starts denied" ||
  fail "second-client start"
sed -i 's/allow_cn = \["good-client"\]/allow_cn = ["good-client", "second-client"]/' \
  "$WORK/conf/policy.toml"
kill -HUP "$GATEWAY_PID"
for _ in $(seq 1 50); do
  grep -q 'config.reloaded' "$WORK/gateway.log" && break
  sleep 0.1
done
expect_contains "reload is logged" "$(cat "$WORK/gateway.log")" "config.reloaded"
sleep 0.2  # the workers swap the runtime on their next loop iteration
statuses=$(count_statuses client_second 20)
[[ $statuses == "200 20" ]] && pass "after reload, 20 connections of second-client get 200" ||
  fail "after reload: $statuses"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$ADMIN/readyz") == 200 ]] &&
  pass "/readyz responds 200 with 2 workers" || fail "/readyz"
[[ $(curl -s "$ADMIN/metrics" | awk '$1 == "certgate_config_version" { print $2 }') == 1 ]] &&
  pass "config version is 1 after the reload" || fail "config version after the reload"

# Drain: a keep-alive connection held open by a client, then SIGTERM.
timeout 30 python3 - "$GATEWAY_PORT" "$CERTS" "$GATEWAY_PID" >"$WORK/drain.out" 2>&1 <<'PY'
import os, signal, socket, ssl, sys
port, certs, gateway_pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ctx = ssl.create_default_context(cafile=f"{certs}/ca.crt")
ctx.load_cert_chain(f"{certs}/client_good.crt", f"{certs}/client_good.key")
conns = []
for _ in range(4):
    conn = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                           server_hostname="localhost")
    conn.sendall(b"GET /secret HTTP/1.1\r\nHost: localhost\r\n\r\n")
    print("held", conn.recv(4096).split(b" ")[1].decode(), flush=True)
    conns.append(conn)
os.kill(gateway_pid, signal.SIGTERM)
# Whatever is left of the response is read first, then the connection
# must end.
for conn in conns:
    try:
        while conn.recv(4096):
            pass
        print("after_term closed", flush=True)
    except socket.timeout:
        print("after_term open", flush=True)
    except OSError:
        print("after_term closed", flush=True)
PY
cat "$WORK/drain.out"
[[ $(grep -c '^held 200$' "$WORK/drain.out") == 4 ]] && pass "4 keep-alive connections get 200" ||
  fail "keep-alive connections before the drain"
[[ $(grep -c '^after_term closed$' "$WORK/drain.out") == 4 ]] &&
  pass "the drain closes idle keep-alive connections" || fail "connections after SIGTERM"
for _ in $(seq 1 100); do
  kill -0 "$GATEWAY_PID" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$GATEWAY_PID" 2>/dev/null; then
  fail "gateway still running 10 s after SIGTERM"
else
  wait "$GATEWAY_PID"
  code=$?
  [[ $code == 0 ]] && pass "SIGTERM with 2 workers exits 0" ||
    fail "gateway exited with $code after SIGTERM"
fi
[[ $(grep -c 'server.draining' "$WORK/gateway.log") == 2 ]] &&
  pass "both workers log server.draining" || fail "server.draining lines: $(grep -c 'server.draining' "$WORK/gateway.log")"
expect_contains "totals are logged at exit" "$(cat "$WORK/gateway.log")" "server.stopped"
finish
