#!/usr/bin/env bash
# Streaming with backpressure, with raw sockets on both sides: a 128 MiB
# download to a client that stops reading, and a 128 MiB upload to an
# upstream that stops reading. While one side stalls, the other side must
# be paused (it can send only what the socket buffers and the gateway's
# 256 KiB watermark take) and the gateway's memory must stay flat. When the
# stalled side reads again, every byte arrives: SHA-256 is equal at both
# ends.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

start_scripted_gateway 'server.log_level="warn"'

# AddressSanitizer keeps freed memory in quarantine, so resident memory
# means little under it; the byte counts and digests are still checked.
RSS_LIMIT_MIB=24
[[ ${CERTGATE_SANITIZE:-0} == 1 ]] && RSS_LIMIT_MIB=100000

PYTHONPATH=$ROOT/tests/lib timeout 240 python3 - "$GATEWAY_PORT" "$UPSTREAM_PORT" "$CERTS" \
  "$GATEWAY_PID" "$RSS_LIMIT_MIB" <<'PY'
import hashlib, socket, sys, threading, time
from rawhttp import Checks, TlsClient

gateway_port, upstream_port, certs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
gateway_pid, rss_limit_mib = sys.argv[4], int(sys.argv[5])
check = Checks()
SIZE = 128 * 1024 * 1024
STALL = 3.0  # seconds the slow side reads nothing
BLOCK = hashlib.sha256(b"certgate").digest() * 2048  # 64 KiB of fixed bytes
MiB = 1024 * 1024


def rss_mib():
    with open(f"/proc/{gateway_pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(4096)
        if not piece:
            raise EOFError("connection closed before the end of the head")
        data += piece
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


class Upstream:
    """A loopback upstream: /download streams SIZE bytes, /upload reads after a stall."""

    def __init__(self, port):
        self.listener = socket.create_server(("127.0.0.1", port))
        self.sent = 0
        self.upload_digest = None
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            sock, _ = self.listener.accept()
            threading.Thread(target=self.handle, args=(sock,), daemon=True).start()

    def handle(self, sock):
        with sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            head, rest = read_head(sock)
            if head.startswith(b"GET /download "):
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % SIZE)
                for _ in range(SIZE // len(BLOCK)):
                    sock.sendall(BLOCK)
                    self.sent += len(BLOCK)
            elif head.startswith(b"POST /upload "):
                length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length:")))
                time.sleep(STALL)
                digest = hashlib.sha256(rest)
                received = len(rest)
                while received < length:
                    piece = sock.recv(min(1 << 20, length - received))
                    if not piece:
                        break
                    digest.update(piece)
                    received += len(piece)
                self.upload_digest = digest.hexdigest()
                body = self.upload_digest.encode()
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)


upstream = Upstream(upstream_port)
expected = hashlib.sha256()
for _ in range(SIZE // len(BLOCK)):
    expected.update(BLOCK)
expected = expected.hexdigest()

# --- download to a client that stops reading ---------------------------------
baseline = rss_mib()
client = TlsClient(gateway_port, certs)
client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
client.send(b"GET /download HTTP/1.1\r\nHost: localhost\r\n\r\n")
peak = baseline
deadline = time.monotonic() + STALL
while time.monotonic() < deadline:
    peak = max(peak, rss_mib())
    time.sleep(0.1)
stalled_sent = upstream.sent
check.true("download: the upstream is paused while the client reads nothing",
           stalled_sent < 32 * MiB, f"the upstream sent {stalled_sent / MiB:.1f} MiB")
check.true(f"download: gateway memory grows by less than {rss_limit_mib} MiB",
           peak - baseline < rss_limit_mib, f"{baseline:.1f} -> {peak:.1f} MiB")
client.sock.settimeout(60)
head = b""
while b"\r\n\r\n" not in head:
    head += client.sock.recv(4096)
head, _, body = head.partition(b"\r\n\r\n")
check.true("download: 200 with the full length",
           head.startswith(b"HTTP/1.1 200 OK\r\n") and b"Content-Length: %d" % SIZE in head,
           repr(head[:200]))
digest = hashlib.sha256(body)
received = len(body)
while received < SIZE:
    piece = client.sock.recv(1 << 20)
    if not piece:
        break
    digest.update(piece)
    received += len(piece)
check.equal("download: every byte arrives", received, SIZE)
check.equal("download: equal SHA-256 at both ends", digest.hexdigest(), expected)
client.close()

# --- upload to an upstream that stops reading ---------------------------------
baseline = rss_mib()
client = TlsClient(gateway_port, certs)
client.sock.settimeout(60)
sent = 0
done = threading.Event()


def upload():
    global sent
    client.send(b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % SIZE)
    for _ in range(SIZE // len(BLOCK)):
        client.sock.sendall(BLOCK)
        sent += len(BLOCK)
    done.set()


sender = threading.Thread(target=upload, daemon=True)
sender.start()
peak = baseline
deadline = time.monotonic() + STALL - 0.5
while time.monotonic() < deadline:
    peak = max(peak, rss_mib())
    time.sleep(0.1)
stalled_sent = sent
check.true("upload: the client is paused while the upstream reads nothing",
           stalled_sent < 32 * MiB, f"the client sent {stalled_sent / MiB:.1f} MiB")
check.true(f"upload: gateway memory grows by less than {rss_limit_mib} MiB",
           peak - baseline < rss_limit_mib, f"{baseline:.1f} -> {peak:.1f} MiB")
check.true("upload: the whole body is sent once the upstream reads", done.wait(120))
reply = client.read_response(timeout=60)
check.equal("upload: the upstream's SHA-256 equals the client's", reply,
            b"HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n" + expected.encode())
check.equal("upload: the upstream computed it", upstream.upload_digest, expected)
check.exit()
PY
rc=$?
((rc == 0)) || fail "$rc raw-socket check(s) failed (FAIL lines above)"
kill -0 "$GATEWAY_PID" 2>/dev/null && pass "gateway still running" || fail "gateway exited"
finish
