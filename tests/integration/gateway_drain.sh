#!/usr/bin/env bash
# SIGTERM with a request in flight: the gateway stops accepting, /readyz
# returns 503 "draining" while /healthz stays 200, the in-flight request
# completes with Connection: close, and then the admin listener closes and
# the process exits 0.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CERTS=$WORK/certs
"$CERTGATE_BIN" pki demo --out "$CERTS" >/dev/null || exit 1
GATEWAY_PORT=$(free_port)
UPSTREAM_PORT=$(free_port)
ADMIN_PORT=$(free_port)
write_demo_config "$WORK/conf" "$CERTS" "$GATEWAY_PORT" "$UPSTREAM_PORT" "$ADMIN_PORT"
start_process upstream-demo "$WORK/upstream.log" "listening" \
  "$UPSTREAM_DEMO_BIN" --listen "127.0.0.1:$UPSTREAM_PORT"
start_process certgate "$WORK/gateway.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/conf/gateway.toml"
GATEWAY_PID=$STARTED_PID

PYTHONPATH=$ROOT/tests/lib timeout 60 python3 - "$GATEWAY_PORT" "$ADMIN_PORT" "$CERTS" \
  "$GATEWAY_PID" <<'PY'
import os, signal, socket, sys, time, urllib.error, urllib.request
from rawhttp import Checks, TlsClient

gateway_port, admin_port, certs, pid = (int(sys.argv[1]), int(sys.argv[2]), sys.argv[3],
                                        int(sys.argv[4]))
check = Checks()


def admin(path):
    """Return (status, body) of an admin endpoint, or (None, error) when it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}{path}", timeout=5) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError as error:
        return None, str(error)


check.equal("/readyz before SIGTERM", admin("/readyz")[0], 200)
# A request whose body is half sent keeps the drain waiting.
client = TlsClient(gateway_port, certs)
client.send(b"POST /secret HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nhello")
time.sleep(0.3)
os.kill(pid, signal.SIGTERM)
time.sleep(0.5)
status, body = admin("/readyz")
check.equal("/readyz while draining: 503", status, 503)
check.true("/readyz names the reason", "draining" in body, body)
check.equal("/healthz while draining: 200", admin("/healthz")[0], 200)
try:
    socket.create_connection(("127.0.0.1", gateway_port), timeout=2).close()
    check.true("no new connections while draining", False, "connect succeeded")
except OSError:
    check.true("no new connections while draining", True)

client.send(b"world")
response = client.read_response()
# upstream-demo rejects a POST to /secret with 405, which shows that the
# request reached it.
check.true("the in-flight request gets the upstream's answer",
           response.startswith(b"HTTP/1.1 405 Method Not Allowed\r\n"), repr(response[:80]))
check.true("its response closes the connection", b"\r\nConnection: close\r\n" in response,
           repr(response[:300]))
deadline = time.monotonic() + 5
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        break
    time.sleep(0.1)
check.equal("the admin listener is closed after the drain", admin("/healthz")[0], None)
check.exit()
PY
rc=$?
((rc == 0)) || fail "$rc check(s) failed (FAIL lines above)"
for ((i = 0; i < 50; i++)); do
  kill -0 "$GATEWAY_PID" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$GATEWAY_PID" 2>/dev/null; then
  fail "gateway still running 5 s after its last request"
else
  wait "$GATEWAY_PID"
  code=$?
  [[ $code == 0 ]] && pass "the gateway exits 0 after the drain" || fail "gateway exited with $code"
fi
finish
