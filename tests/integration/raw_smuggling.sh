#!/usr/bin/env bash
# Request smuggling: messages whose framing two HTTP implementations could
# read differently. Content-Length with Transfer-Encoding, conflicting or
# malformed lengths, unknown or repeated codings, bare LF and invalid
# header names and values get a local 400 (501 for a coding the gateway
# cannot forward), and the connection closes. The scripted upstream
# receives none of their bytes, even over a kept-alive upstream
# connection. In a pipeline, the valid request before the bad one is the
# only thing forwarded. obs-fold (a header continued on the next line) is
# rejected too. Malformed chunked bodies: raw_smuggling_chunked.sh.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

start_scripted_gateway

PYTHONPATH=$ROOT/tests/lib timeout 150 python3 - "$GATEWAY_PORT" "$UPSTREAM_PORT" "$CERTS" <<'PY'
import sys, time
from rawhttp import Checks, ScriptedUpstream, TlsClient, local_reply, serve_by_path

gateway_port, upstream_port, certs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
check = Checks()
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
upstream = ScriptedUpstream(serve_by_path({"/": OK}), upstream_port)

# Each case: name, the bytes after the request line and Host header, and
# the expected 400 reply body (or status and body). The reasons are
# llhttp 8.1's and the gateway's own. A case that starts with "GET " is a
# whole request.
START = b"POST /a HTTP/1.1\r\nHost: localhost\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"
CASES = [
    ("obs-fold", b"X-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n",
     "Bad request: obs-fold (a header value continued on the next line)\n"),
    ("obs-fold in Transfer-Encoding",
     b"Transfer-Encoding:\r\n chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n" + SMUGGLED,
     "Bad request: obs-fold (a header value continued on the next line)\n"),
    ("Content-Length with Transfer-Encoding",
     b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
     "Bad request: Content-Length can't be present with Transfer-Encoding\n"),
    ("Transfer-Encoding with Content-Length",
     b"Transfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\n" + SMUGGLED,
     "Bad request: Content-Length can't be present with Transfer-Encoding\n"),
    ("two different Content-Length headers",
     b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello" + SMUGGLED,
     "Bad request: Duplicate Content-Length\n"),
    ("two equal Content-Length headers",
     b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
     "Bad request: Duplicate Content-Length\n"),
    ("Content-Length list", b"Content-Length: 5, 5\r\n\r\nhello",
     "Bad request: Invalid character in Content-Length\n"),
    ("Content-Length with a plus sign", b"Content-Length: +5\r\n\r\nhello",
     "Bad request: Invalid character in Content-Length\n"),
    ("negative Content-Length", b"Content-Length: -1\r\n\r\n",
     "Bad request: Invalid character in Content-Length\n"),
    ("Content-Length with letters", b"Content-Length: 5a\r\n\r\nhello",
     "Bad request: Invalid character in Content-Length\n"),
    ("hexadecimal Content-Length", b"Content-Length: 0x5\r\n\r\nhello",
     "Bad request: Invalid character in Content-Length\n"),
    ("Content-Length overflow", b"Content-Length: 99999999999999999999999\r\n\r\n",
     "Bad request: Content-Length overflow\n"),
    ("empty Content-Length", b"Content-Length: \r\n\r\n",
     "Bad request: Empty Content-Length\n"),
    ("unknown transfer coding", b"Transfer-Encoding: gzip\r\n\r\n0\r\n\r\n",
     "Bad request: the final transfer coding is not chunked\n"),
    ("chunked before another coding", b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
     "Bad request: Invalid `Transfer-Encoding` header value\n"),
    ("unknown coding before chunked",
     b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
     (501, "Not implemented: transfer coding 'gzip'\n")),
    ("chunked applied twice", b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
     "Bad request: Invalid `Transfer-Encoding` header value\n"),
    ("two chunked Transfer-Encoding headers",
     b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
     "Bad request: Invalid `Transfer-Encoding` header value\n"),
    ("transfer coding that only starts with chunked", b"Transfer-Encoding: chunkedx\r\n\r\n",
     "Bad request: the final transfer coding is not chunked\n"),
    ("vertical tab before chunked", b"Transfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n",
     "Bad request: Invalid header value char\n"),
    ("bare LF after a header", b"X-A: 1\nContent-Length: 0\r\n\r\n",
     "Bad request: Invalid header value char\n"),
    ("bare CR in a header value", b"X-A: a\rb\r\nContent-Length: 0\r\n\r\n",
     "Bad request: Missing expected LF after header value\n"),
    ("NUL in a header value", b"X-A: a\x00b\r\nContent-Length: 0\r\n\r\n",
     "Bad request: Invalid header value char\n"),
    ("space before the colon", b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
     "Bad request: Invalid header field char\n"),
    ("space inside a header name", b"X A: 1\r\nContent-Length: 0\r\n\r\n",
     "Bad request: invalid character in header name\n"),
    ("separator in a header name", b"X(A): 1\r\nContent-Length: 0\r\n\r\n",
     "Bad request: Invalid header token\n"),
    ("empty header name", b": x\r\nContent-Length: 0\r\n\r\n",
     "Bad request: empty header name\n"),
    ("bare LF line ends", b"GET /lf HTTP/1.1\nHost: localhost\n\n",
     "Bad request: Invalid header value char\n"),
]



def warm_pool():
    """Leave a kept-alive upstream connection in the gateway's pool.

    A request head the gateway forwarded would then reach the upstream at
    once instead of waiting for a connect, which is the case to rule out.
    """
    before = len(upstream.requests())
    client = TlsClient(gateway_port, certs)
    client.send(b"GET /warm HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    reply = client.wait_closed()
    upstream.wait_requests(before + 1)
    return reply


check.equal("a valid request passes", warm_pool(),
            OK.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
for name, rest, expected in CASES:
    warm_pool()
    received_before = upstream.received()
    client = TlsClient(gateway_port, certs)
    client.send(rest if rest.startswith(b"GET ") else START + rest)
    status, body = expected if isinstance(expected, tuple) else (400, expected)
    check.equal(f"{name}: {status} and close", client.wait_closed(), local_reply(status, body))
    time.sleep(0.2)  # bytes the gateway wrote before its reply have arrived by now
    check.equal(f"{name}: upstream receives nothing", upstream.received()[len(received_before):],
                b"")

# A pipeline: the valid request is forwarded and gets its response, the bad one is not.
received_before = upstream.received()
client = TlsClient(gateway_port, certs)
client.send(b"GET /first HTTP/1.1\r\nHost: localhost\r\n\r\n" + START +
            b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED)
check.equal("pipeline: response to the valid request, then 400 and close", client.wait_closed(),
            OK + local_reply(400, "Bad request: Content-Length can't be present with "
                                  "Transfer-Encoding\n"))
time.sleep(0.2)
forwarded = upstream.received()[len(received_before):]
check.true("pipeline: upstream receives only the valid request",
           forwarded.startswith(b"GET /first HTTP/1.1\r\n") and forwarded.count(b"HTTP/1.1") == 1
           and forwarded.endswith(b"\r\n\r\n"), f"got {forwarded!r}")
check.exit()
PY
rc=$?
((rc == 0)) || fail "$rc raw-socket check(s) failed (FAIL lines above)"
finish
