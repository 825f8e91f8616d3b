#!/usr/bin/env bash
# Malformed chunked request bodies over a kept-alive upstream connection:
# letters, "0x", a sign or an overflow as chunk size, and chunk data
# longer than its size. Each gets a local 400 and the connection closes.
# The upstream must receive none of the request, not even its head: the
# gateway buffers a body of up to [limits] request_buffer_bytes until it
# is complete. A body larger than that streams; the last case checks that
# its broken end cuts the upstream connection before the message ends.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

start_scripted_gateway

PYTHONPATH=$ROOT/tests/lib timeout 120 python3 - "$GATEWAY_PORT" "$UPSTREAM_PORT" "$CERTS" <<'PY'
import sys, time
from rawhttp import Checks, ScriptedUpstream, TlsClient, local_reply, serve_by_path

gateway_port, upstream_port, certs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
check = Checks()
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
upstream = ScriptedUpstream(serve_by_path({"/": OK}), upstream_port)
START = b"POST /a HTTP/1.1\r\nHost: localhost\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"
CASES = [
    ("letters as chunk size", b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
     "Bad request: Invalid character in chunk size\n"),
    ("0x chunk size", b"Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
     "Bad request: Invalid character in chunk size\n"),
    ("negative chunk size", b"Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
     "Bad request: Invalid character in chunk size\n"),
    ("chunk size overflow",
     b"Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nhello\r\n0\r\n\r\n",
     "Bad request: Chunk size overflow\n"),
    ("chunk data longer than its size",
     b"Transfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n" + SMUGGLED,
     "Bad request: Invalid character in chunk size\n"),

]

def warm_link():
    """Leave a kept-alive upstream connection in the pool; return it and its byte count."""
    warm = TlsClient(gateway_port, certs)
    warm.send(b"GET /warm HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    warm.wait_closed()
    link = upstream.connections[-1]
    return link, len(link.received)


for name, rest, body in CASES:
    # A request before each case leaves a kept-alive upstream connection in
    # the pool, so a forwarded head would reach the upstream at once.
    link, mark = warm_link()
    client = TlsClient(gateway_port, certs)
    client.send(START + rest)
    check.equal(f"{name}: 400 and close", client.wait_closed(), local_reply(400, body))
    time.sleep(0.2)
    check.equal(f"{name}: upstream receives nothing", bytes(link.received[mark:]), b"")
    check.true(f"{name}: the idle upstream connection stays open", not link.done.is_set())

# A body larger than request_buffer_bytes (64 KiB by default) streams, so
# the upstream receives its head and first chunk. The broken chunk after it
# must close the upstream connection, so that no complete request and
# nothing after the broken chunk reaches the upstream.
big = b"10000\r\n" + b"a" * 0x10000 + b"\r\n" + b"10\r\n" + b"a" * 16 + b"\r\n"
link, mark = warm_link()
client = TlsClient(gateway_port, certs)
client.send(START + b"Transfer-Encoding: chunked\r\n\r\n" + big + b"zz\r\n" + SMUGGLED)
check.equal("streamed body: 400 and close", client.wait_closed(),
            local_reply(400, "Bad request: Invalid character in chunk size\n"))
check.true("streamed body: the upstream connection is closed", link.done.wait(5))
received = bytes(link.received[mark:])
check.true("streamed body: the upstream got the head", received.startswith(START))
check.true("streamed body: no last chunk reaches the upstream", b"\r\n0\r\n" not in received)
check.true("streamed body: nothing after the broken chunk", b"smuggled" not in received)
check.exit()
PY
rc=$?
((rc == 0)) || fail "$rc raw-socket check(s) failed (FAIL lines above)"
finish
