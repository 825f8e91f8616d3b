#!/usr/bin/env bash
# [timeouts] request_header_ms bounds the time from the first byte of a
# request to the end of its head. A client that sends one byte of the head
# at a time must get 408 once that time has passed, or it can hold a
# connection open for hours (slowloris).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CERTS=$WORK/certs
"$CERTGATE_BIN" pki demo --out "$CERTS" >/dev/null || exit 1
GATEWAY_PORT=$(free_port)
UPSTREAM_PORT=$(free_port)
write_demo_config "$WORK/conf" "$CERTS" "$GATEWAY_PORT" "$UPSTREAM_PORT"
sed -i 's/^request_header_ms = .*/request_header_ms = 1000/' "$WORK/conf/gateway.toml"
grep -q '^request_header_ms = 1000$' "$WORK/conf/gateway.toml" ||
  { echo "FAIL: could not set request_header_ms in the test configuration" >&2; exit 1; }

start_process upstream-demo "$WORK/upstream.log" "listening" \
  "$UPSTREAM_DEMO_BIN" --listen "127.0.0.1:$UPSTREAM_PORT"
start_process certgate "$WORK/gateway.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/conf/gateway.toml"

# Send a request head one byte every 250 ms for at most 6 s. Print the
# seconds until the gateway responded and its status line, or "none".
result=$(timeout 20 python3 - "$GATEWAY_PORT" "$CERTS" <<'PY'
import socket, ssl, sys, time
port, certs = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=f"{certs}/ca.crt")
ctx.load_cert_chain(f"{certs}/client_good.crt", f"{certs}/client_good.key")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                    server_hostname="localhost")
head = b"GET /secret HTTP/1.1\r\nHost: localhost\r\nX-Padding: " + b"a" * 200
start = time.monotonic()
answer = b""
for byte in head:
    if time.monotonic() - start > 6:
        break
    try:
        s.sendall(bytes([byte]))
    except OSError:
        break
    s.settimeout(0.25)
    try:
        answer = s.recv(4096)
    except (socket.timeout, ssl.SSLWantReadError):
        continue
    except OSError:
        break
    break
elapsed = time.monotonic() - start
status = answer.split(b"\r\n", 1)[0].decode("latin-1") if answer else "none"
print(f"{elapsed:.1f} {status}")
PY
)
echo "trickled head: $result"
elapsed=${result%% *}
status=${result#* }
expect_contains "trickled request head gets 408" "$status" "408"
if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 3.0 else 1)" "${elapsed:-99}"; then
  pass "408 arrives within 3 s of the first byte (request_header_ms = 1000)"
else
  fail "the head was still accepted after ${elapsed:-?} s; request_header_ms is 1000"
fi

finish
