#!/usr/bin/env bash
# Upstream faults and slow clients: a silent upstream gives 504, an
# upstream that resets mid-response closes the client connection early, an
# Expect: 100-continue upload works, and while 200 connections trickle
# their handshakes a byte at a time an authorized client is still served.
# The gateway keeps serving after each fault and leaks no descriptors.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CERTS=$WORK/certs
"$CERTGATE_BIN" pki demo --out "$CERTS" >/dev/null || exit 1
GATEWAY_PORT=$(free_port)
DEMO_PORT=$(free_port)
FAULT_PORT=$(free_port)
mkdir -p "$WORK/conf"
cat >"$WORK/conf/gateway.toml" <<TOML
[server]
listen = ["127.0.0.1:$GATEWAY_PORT"]
[tls]
cert = "$CERTS/server.crt"
key = "$CERTS/server.key"
client_ca = "$CERTS/ca.crt"
[timeouts]
handshake_ms = 3000
upstream_response_ms = 1500
[policy]
file = "policy.toml"
TOML
cat >"$WORK/conf/policy.toml" <<TOML
[upstreams.demo]
address = "127.0.0.1:$DEMO_PORT"
[upstreams.faulty]
address = "127.0.0.1:$FAULT_PORT"
[[routes]]
prefix = "/"
upstream = "demo"
allow_cn = ["good-client"]
[[routes]]
prefix = "/fault"
upstream = "faulty"
allow_cn = ["good-client"]
TOML

# The faulty upstream: /fault/silent never replies, /fault/reset sends half
# a response and resets the connection.
cat >"$WORK/faulty.py" <<'PY'
import socket, struct, sys, threading, time
server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
print("listening", flush=True)
def serve(conn):
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(4096)
        if not chunk:
            return
        head += chunk
    if b"/fault/reset" in head:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    else:
        time.sleep(10)
        conn.close()
while True:
    connection, _ = server.accept()
    threading.Thread(target=serve, args=(connection,), daemon=True).start()
PY
start_process faulty "$WORK/faulty.log" "listening" python3 -u "$WORK/faulty.py" "$FAULT_PORT"
start_process upstream-demo "$WORK/demo.log" "listening" \
  "$UPSTREAM_DEMO_BIN" --listen "127.0.0.1:$DEMO_PORT"
start_process certgate "$WORK/gateway.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/conf/gateway.toml"
GATEWAY_PID=$STARTED_PID
BASE=https://localhost:$GATEWAY_PORT
CURL=(curl -sS --max-time 20 --cacert "$CERTS/ca.crt" --cert "$CERTS/client_good.crt"
  --key "$CERTS/client_good.key")
fds_before=$(ls "/proc/$GATEWAY_PID/fd" | wc -l)

out=$("${CURL[@]}" -w ' status=%{http_code}' "$BASE/fault/silent" 2>&1)
expect_contains "a silent upstream gives 504" "$out" "status=504"
grep -q 'upstream.error .*upstream=faulty .*response timed out.*status=504' "$WORK/gateway.log" &&
  pass "the timeout is logged with the upstream" || fail "no upstream.error line for the 504"

out=$("${CURL[@]}" -o /dev/null -w 'status=%{http_code} size=%{size_download}' "$BASE/fault/reset" 2>&1)
expect_contains "a reset mid-response ends the client connection early" "$out" "size=1000"
if [[ $out == *"status=200"* && $out != *"curl: ("* ]]; then
  fail "the truncated response looked complete to the client: $out"
else
  pass "the client sees the response as incomplete"
fi

out=$("${CURL[@]}" -H 'Expect: 100-continue' --data-binary "$(head -c 3000 /dev/zero | tr '\0' e)" \
  -w ' status=%{http_code}' "$BASE/echo" 2>&1)
expect_contains "an Expect: 100-continue upload is answered" "$out" "status=200"

# Slowloris: 200 connections send one byte of a ClientHello every 0.5 s.
python3 - "$GATEWAY_PORT" >"$WORK/slow.log" 2>&1 <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
sockets = []
for _ in range(200):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    sockets.append(s)
hello = bytes.fromhex("16030100c8010000c40303")
deadline = time.monotonic() + 6
index = 0
while time.monotonic() < deadline:
    for s in sockets:
        try:
            s.send(hello[index % len(hello):index % len(hello) + 1])
        except OSError:
            pass
    index += 1
    time.sleep(0.5)
PY
SLOW_PID=$!
sleep 1
start=$(date +%s%N)
out=$("${CURL[@]}" -w ' status=%{http_code}' "$BASE/secret" 2>&1)
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
expect_contains "an authorized client is served during the slow handshakes" "$out" "status=200"
((elapsed_ms < 2000)) && pass "it is served in ${elapsed_ms} ms" ||
  fail "it took ${elapsed_ms} ms during the slow handshakes"
wait "$SLOW_PID"
sleep 3.5  # past handshake_ms: the slow connections are closed
grep -q 'reason=handshake_timeout' "$WORK/gateway.log" &&
  pass "stalled handshakes end with handshake_timeout" || fail "no handshake_timeout logged"
fds_after=$(ls "/proc/$GATEWAY_PID/fd" | wc -l)
((fds_after <= fds_before + 2)) && pass "descriptors back to $fds_after (was $fds_before)" ||
  fail "descriptors grew from $fds_before to $fds_after"
kill -0 "$GATEWAY_PID" && pass "the gateway is still running" || fail "the gateway died"
finish
