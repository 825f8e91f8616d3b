#!/usr/bin/env bash
# Slowloris: 100 connections trickle a ClientHello and 100 TLS connections
# trickle a request head, one byte every 0.5 s for 5 s. Meanwhile an
# authorized client gets its exact 200 response each time, within 3 s.
# After handshake_ms the stalled handshakes are closed without a byte,
# after request_header_ms each trickled head gets the exact 408 reply,
# and the gateway's descriptors return to where they were.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

start_scripted_gateway timeouts.handshake_ms=3000 timeouts.request_header_ms=3000

PYTHONPATH=$ROOT/tests/lib timeout 120 python3 - "$GATEWAY_PORT" "$UPSTREAM_PORT" "$CERTS" \
  "$GATEWAY_PID" <<'PY'
import os, select, socket, ssl, sys, threading, time
from rawhttp import Checks, ScriptedUpstream, TlsClient, local_reply, serve_by_path

gateway_port, upstream_port, certs, gateway_pid = (int(sys.argv[1]), int(sys.argv[2]),
                                                    sys.argv[3], sys.argv[4])
check = Checks()
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
OK_CLOSE = OK.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
upstream = ScriptedUpstream(serve_by_path({"/": OK}), upstream_port)


def open_descriptors():
    return len(os.listdir(f"/proc/{gateway_pid}/fd"))


def served():
    client = TlsClient(gateway_port, certs)
    client.send(b"GET /ok HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    return client.wait_closed()


check.equal("served before the trickle", served(), OK_CLOSE)
descriptors_before = open_descriptors()

handshakes = [socket.create_connection(("127.0.0.1", gateway_port), timeout=10)
              for _ in range(100)]
heads = [TlsClient(gateway_port, certs) for _ in range(100)]
hello = bytes.fromhex("16030100c8010000c40303") + bytes(40)
head = b"GET /ok HTTP/1.1\r\nHost: localhost\r\nX-Padding: " + b"p" * 200
stop_at = time.monotonic() + 5


def has_reply(client):
    """Return True once the gateway has sent application data or closed.

    TLS 1.3 session tickets make the socket readable right after the
    handshake, so this reads through the TLS layer without blocking.
    """
    if client.closed or client.buffer:
        return True
    client.sock.setblocking(False)
    try:
        data = client.sock.recv(4096)
        client.buffer += data
        client.closed = not data
    except (ssl.SSLWantReadError, BlockingIOError):
        return False
    except OSError:
        client.closed = True
    finally:
        client.sock.setblocking(True)
    return True


def trickle():
    """Send one more byte on every connection the gateway has not responded to or closed."""
    index = 0
    while time.monotonic() < stop_at:
        # Sending after the gateway closed would make the kernel drop the
        # unread reply, so a connection with a reply gets no more bytes.
        for sock in handshakes:
            if not select.select([sock], [], [], 0)[0]:
                try:
                    sock.send(hello[index:index + 1])
                except OSError:
                    pass
        for client in heads:
            if not has_reply(client):
                try:
                    client.sock.send(head[index:index + 1])
                except OSError:
                    pass
        index += 1
        time.sleep(0.5)


trickler = threading.Thread(target=trickle)
trickler.start()
time.sleep(0.5)
for attempt in range(3):
    start = time.monotonic()
    reply = served()
    elapsed = time.monotonic() - start
    check.equal(f"served during the trickle ({attempt + 1})", reply, OK_CLOSE)
    check.true(f"served within 3 s ({attempt + 1})", elapsed < 3, f"took {elapsed:.2f} s")
    time.sleep(0.5)
trickler.join()

timeout_reply = local_reply(408, "Request timeout: the request head did not arrive in time\n")
replies = [client.wait_closed(timeout=5) for client in heads]
check.equal("every trickled head gets 408 and a close",
            sum(1 for reply in replies if reply == timeout_reply), len(heads))
closed = 0
for sock in handshakes:
    sock.settimeout(10)
    try:
        closed += sock.recv(4096) == b""
    except ConnectionResetError:
        closed += 1
check.equal("every stalled handshake closed without a byte", closed, len(handshakes))
for sock in handshakes:
    sock.close()
for client in heads:
    client.close()

deadline = time.monotonic() + 10
while open_descriptors() > descriptors_before + 2 and time.monotonic() < deadline:
    time.sleep(0.1)
descriptors_after = open_descriptors()
check.true(f"descriptors back to {descriptors_after} (were {descriptors_before})",
           descriptors_after <= descriptors_before + 2)
check.equal("served after the trickle", served(), OK_CLOSE)
check.exit()
PY
rc=$?
((rc == 0)) || fail "$rc raw-socket check(s) failed (FAIL lines above)"
grep -q 'reason=handshake_timeout' "$WORK/gateway.log" &&
  pass "stalled handshakes are logged with handshake_timeout" || fail "no handshake_timeout logged"
kill -0 "$GATEWAY_PID" && pass "the gateway is still running" || fail "the gateway exited"
finish
