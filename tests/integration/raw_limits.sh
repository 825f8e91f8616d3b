#!/usr/bin/env bash
# Size limits and timeouts, with the exact replies. A header section over
# max_header_bytes gets 431 and a body over max_body_bytes gets 413, and
# neither reaches the upstream. A request head that trickles in past
# request_header_ms gets 408. A stalled TLS handshake and an idle
# keep-alive connection are closed. An upstream that never accepts the
# connection or never responds gives 504. A TLS 1.2 client that starts a
# renegotiation loses the connection.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CERTS=$WORK/certs
"$CERTGATE_BIN" pki demo --out "$CERTS" >/dev/null || exit 1
GATEWAY_PORT=$(free_port)
UPSTREAM_PORT=$(free_port)
STUCK_PORT=$(free_port)
SILENT_PORT=$(free_port)
# Timeouts of 1.5 s keep the script short; the checks below allow up to
# 5 s for each, for a loaded machine.
write_gateway_config "$WORK/conf" "$CERTS" "$GATEWAY_PORT" 'tls.min_version="1.2"' \
  timeouts.handshake_ms=1500 timeouts.request_header_ms=1500 timeouts.idle_ms=1500 \
  timeouts.upstream_connect_ms=1500 timeouts.upstream_response_ms=1500 \
  timeouts.request_body_ms=1500 limits.max_header_bytes=2048 limits.max_body_bytes=1000 \
  limits.request_buffer_bytes=512
cat >"$WORK/conf/policy.toml" <<TOML
[upstreams.scripted]
address = "127.0.0.1:$UPSTREAM_PORT"
[upstreams.stuck]
address = "127.0.0.1:$STUCK_PORT"
[upstreams.silent]
address = "127.0.0.1:$SILENT_PORT"
[[routes]]
prefix = "/"
upstream = "scripted"
allow_cn = ["good-client"]
[[routes]]
prefix = "/stuck"
upstream = "stuck"
allow_cn = ["good-client"]
[[routes]]
prefix = "/silent"
upstream = "silent"
allow_cn = ["good-client"]
TOML
start_process certgate "$WORK/gateway.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/conf/gateway.toml"

PYTHONPATH=$ROOT/tests/lib timeout 120 python3 - "$GATEWAY_PORT" "$UPSTREAM_PORT" "$CERTS" \
  "$STUCK_PORT" "$SILENT_PORT" <<'PY'
import os, socket, sys, time
from rawhttp import Checks, ScriptedUpstream, TlsClient, local_reply, parse_chunked, serve_by_path

gateway_port, upstream_port, certs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
stuck_port, silent_port = int(sys.argv[4]), int(sys.argv[5])
check = Checks()
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
upstream = ScriptedUpstream(serve_by_path({"/": OK}), upstream_port)
silent = ScriptedUpstream(lambda connection: connection.drain(timeout=30), silent_port)

# The stuck upstream's accept queue is full and it never accepts, so the
# kernel drops the gateway's SYN and the connect hangs.
stuck = socket.create_server(("127.0.0.1", stuck_port), backlog=0)
fillers = []
for _ in range(3):
    filler = socket.socket()
    filler.setblocking(False)
    filler.connect_ex(("127.0.0.1", stuck_port))
    fillers.append(filler)


def timed(function):
    start = time.monotonic()
    result = function()
    return result, time.monotonic() - start


def within(label, elapsed, low=1.0, high=5.0):
    check.true(f"{label} after the 1.5 s timeout", low <= elapsed <= high, f"took {elapsed:.2f} s")


def rejected_before_upstream(label, request, expected):
    before = upstream.received()
    client = TlsClient(gateway_port, certs)
    client.send(request)
    check.equal(f"{label}: reply and close", client.wait_closed(), expected)
    time.sleep(0.2)  # bytes the gateway wrote before its reply have arrived by now
    check.equal(f"{label}: upstream receives nothing", upstream.received()[len(before):], b"")


rejected_before_upstream(
    "431", b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 3000 + b"\r\n\r\n",
    local_reply(431, "Request header fields too large\n"))
rejected_before_upstream(
    "414", b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n",
    local_reply(414, "URI too long: the request target exceeds max_header_bytes\n"))
rejected_before_upstream(
    "413 by Content-Length",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1001\r\n\r\n" + b"a" * 1001,
    local_reply(413, "Content too large: the request body exceeds the gateway's limit\n"))

# Lingering close: after the 413 for a declared length over the limit the
# client may still be sending its body. The gateway sends its reply and a
# FIN, then keeps reading and discarding for a while, so the client's
# further writes get no reset that could destroy the unread reply.
client = TlsClient(gateway_port, certs)
client.send(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000000\r\n\r\n" +
            b"d" * 4096)
check.equal("lingering close: 413 and close", client.wait_closed(),
            local_reply(413, "Content too large: the request body exceeds the gateway's limit\n"))
# Raw bytes on the TCP socket under the TLS one: only the TCP behaviour
# matters here, and the gateway discards them unread.
raw = socket.socket(fileno=os.dup(client.sock.fileno()))
reset = None
for _ in range(5):
    try:
        raw.sendall(b"d" * 16384)
    except OSError as error:
        reset = error
        break
    time.sleep(0.1)
raw.close()
check.true("lingering close: writes after the reply get no reset", reset is None, repr(reset))
client.close()

# A chunked body larger than request_buffer_bytes (512 here) is streamed,
# so the upstream gets the head and the chunks within the limit, then its
# connection is closed. A request before it leaves a kept-alive upstream
# connection, which the upload then uses.
client = TlsClient(gateway_port, certs)
client.send(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
client.wait_closed()
link = upstream.connections[-1]
mark = len(link.received)
client = TlsClient(gateway_port, certs)
chunk = b"190\r\n" + b"c" * 400 + b"\r\n"
client.send(b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk * 3)
check.equal("413 for a chunked body: reply and close", client.wait_closed(),
            local_reply(413, "Content too large: the request body exceeds the gateway's limit\n"))
check.true("413 for a chunked body: upstream connection closed", link.done.wait(5))
head, _, body = bytes(link.received[mark:]).partition(b"\r\n\r\n")
check.true("413 for a chunked body: upstream gets the head", head.startswith(b"POST / HTTP/1.1\r\n"),
           f"got {head[:40]!r}")
check.true("413 for a chunked body: upstream gets whole chunks within the limit only",
           body in (b"", chunk, chunk * 2), f"got {len(body)} body bytes: {body[:40]!r}")

# A held body (under request_buffer_bytes) that stops arriving gets 408
# after request_body_ms, and the upstream receives nothing of the request.
before = upstream.received()
client = TlsClient(gateway_port, certs)
client.send(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n" + b"b" * 10)
reply, elapsed = timed(client.wait_closed)
check.equal("408 for a held body: reply and close", reply,
            local_reply(408, "Request timeout: the request body did not arrive in time\n"))
check.true("408 for a held body: after about request_body_ms", 1.2 < elapsed < 6,
           f"took {elapsed:.2f} s")
check.equal("408 for a held body: upstream receives nothing", upstream.received()[len(before):], b"")

# 408: the head arrives one byte every 100 ms and is not complete in time.
client = TlsClient(gateway_port, certs)
head = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Padding: " + b"p" * 100
start = time.monotonic()
try:
    client.send(head, piece_size=1, delay=0.1)
except OSError:
    pass  # the gateway closed while bytes were still trickling in
reply, elapsed = timed(client.wait_closed)
check.equal("408: reply and close", reply,
            local_reply(408, "Request timeout: the request head did not arrive in time\n"))
within("408 arrives", time.monotonic() - start)

# A TLS handshake that never completes: the gateway closes without a byte.
for label, first_bytes in (("no ClientHello", b""),
                           ("half a ClientHello", bytes.fromhex("16030100c8010000c40303"))):
    raw = socket.create_connection(("127.0.0.1", gateway_port), timeout=10)
    raw.sendall(first_bytes)
    start = time.monotonic()
    received = b""
    try:
        while chunk := raw.recv(4096):
            received += chunk
    except (ConnectionResetError, socket.timeout) as error:
        received += f"<{type(error).__name__}>".encode()
    within(f"handshake with {label}: closed", time.monotonic() - start)
    check.equal(f"handshake with {label}: no bytes from the gateway", received, b"")
    raw.close()

# Idle keep-alive connection: closed with nothing more after the response.
client = TlsClient(gateway_port, certs)
client.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
check.equal("idle: response", client.read_response(), OK)
closing, elapsed = timed(client.wait_closed)
check.equal("idle: closed with no more bytes", closing, b"")
within("idle connection closed", elapsed)

# Upstream connect timeout and response timeout give 504 and a close.
for path in ("/stuck", "/silent"):
    client = TlsClient(gateway_port, certs)
    client.send(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    reply, elapsed = timed(client.wait_closed)
    check.equal(f"{path}: 504 and close", reply,
                local_reply(504, "Gateway timeout: upstream did not respond in time\n"))
    within(f"{path}: 504 arrives", elapsed)
check.equal("/silent: upstream got the request", len(silent.connections), 1)

# The gateway keeps serving after all of the above.
client = TlsClient(gateway_port, certs)
# A client that closes in the middle of its body, held (300 of 1000 bytes)
# or already streaming (900, past request_buffer_bytes), is aborted at
# once. The log checks below run after request_body_ms has passed, to
# show that no 408 follows.
for path, sent in ((b"/aborted-held", 300), (b"/aborted-streamed", 900)):
    client = TlsClient(gateway_port, certs)
    client.send(b"POST " + path + b" HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n" +
                b"x" * sent)
    time.sleep(0.3)
    client.close()
time.sleep(2)

client = TlsClient(gateway_port, certs)
client.send(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
check.equal("still serving", client.wait_closed(),
            OK.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
check.exit()
PY
rc=$?
((rc == 0)) || fail "$rc raw-socket check(s) failed (FAIL lines above)"
for path in /aborted-held /aborted-streamed; do
  lines=$(grep "http.request .*path=$path " "$WORK/gateway.log")
  if [[ $(grep -c . <<<"$lines") == 1 && $lines == *outcome=aborted* ]]; then
    pass "$path: a client gone mid-body gets one aborted access-log line"
  else
    fail "$path: expected one aborted access-log line, got: $lines"
  fi
done
grep -q 'http.client_closed_mid_request .*bytes_in=900' "$WORK/gateway.log" &&
  pass "the streamed body's abort is logged with its byte count" ||
  fail "no http.client_closed_mid_request line with bytes_in=900"
grep -q 'upstream.error .*upstream=silent .*response timed out.*status=504' "$WORK/gateway.log" &&
  pass "the response timeout is logged with the upstream" || fail "no upstream.error line for /silent"
grep -q 'upstream.error .*upstream=stuck .*connect timed out.*status=504' "$WORK/gateway.log" &&
  pass "the connect timeout is logged with the upstream" || fail "no upstream.error line for /stuck"

# Renegotiation: Python's ssl module cannot start one, so openssl s_client
# connects with TLS 1.2, sends "R" (renegotiate), then a request. BoringSSL
# servers reject renegotiation, so the gateway must close the connection
# and the request after it must get no response.
renegotiation=$( (sleep 1; echo R; sleep 1; printf 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'; sleep 1) |
  timeout 20 openssl s_client -tls1_2 -connect "127.0.0.1:$GATEWAY_PORT" -servername localhost \
    -CAfile "$CERTS/ca.crt" -cert "$CERTS/client_good.crt" -key "$CERTS/client_good.key" 2>&1)
expect_contains "s_client negotiated TLS 1.2" "$renegotiation" "Protocol  : TLSv1.2"
expect_contains "s_client started a renegotiation" "$renegotiation" "RENEGOTIATING"
if [[ $renegotiation == *"HTTP/1.1 "* ]]; then
  fail "a request after the renegotiation attempt got a response: $renegotiation"
else
  pass "no response after the renegotiation attempt"
fi
grep -q 'conn.tls_error .*NO_RENEGOTIATION' "$WORK/gateway.log" &&
  pass "the gateway logs the rejected renegotiation" ||
  fail "no conn.tls_error line with NO_RENEGOTIATION in the gateway log"
finish
