"""Raw-socket HTTP/1.1 helpers for the integration tests.

TlsClient sends exact bytes to the gateway over mutual TLS and returns the
exact bytes it answers. ScriptedUpstream is a loopback TCP server whose
connections run a test-supplied script and record every byte the gateway
forwarded. Checks prints PASS/FAIL lines in the format of tests/lib/common.sh.
Only the standard library is used.
"""

import os
import socket
import ssl
import struct
import sys
import threading
import time

CRLF = b"\r\n"
END_OF_HEAD = b"\r\n\r\n"

REASONS = {
    400: "Bad Request",
    408: "Request Timeout",
    413: "Content Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
    502: "Bad Gateway",
    504: "Gateway Timeout",
}


def local_reply(status, body, close=True, reason=None):
    """Build the exact bytes of a reply the gateway generates itself."""
    body = body.encode() if isinstance(body, str) else body
    head = f"HTTP/1.1 {status} {reason or REASONS[status]}\r\n"
    head += "Content-Type: text/plain; charset=utf-8\r\n"
    head += f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n"
    if close:
        head += "Connection: close\r\n"
    return head.encode() + CRLF + body


def request_path(head):
    """Return the request target of a raw request head."""
    parts = head.split(CRLF, 1)[0].split(b" ")
    return parts[1].decode("latin-1") if len(parts) == 3 else ""


def header_values(head, name):
    """Return the values of every header field called NAME (any case)."""
    values = []
    for line in head.split(END_OF_HEAD, 1)[0].split(CRLF)[1:]:
        field, _, value = line.partition(b":")
        if field.decode("latin-1").lower() == name.lower():
            values.append(value.strip().decode("latin-1"))
    return values


def parse_chunked(data):
    """Parse a chunked body at the start of DATA.

    Returns (length consumed, decoded body, raw trailer section), or None
    while DATA is incomplete. Raises ValueError on a framing error, so a
    test sees re-framing mistakes instead of a truncated body.
    """
    pos = 0
    body = b""
    while True:
        end = data.find(CRLF, pos)
        if end < 0:
            return None
        size_field = data[pos:end].split(b";", 1)[0]
        if not size_field or any(c not in b"0123456789abcdefABCDEF" for c in size_field):
            raise ValueError(f"invalid chunk size line {data[pos:end]!r}")
        size = int(size_field, 16)
        pos = end + 2
        if size == 0:
            break
        if len(data) < pos + size + 2:
            return None
        if data[pos + size : pos + size + 2] != CRLF:
            raise ValueError(f"chunk of {size} bytes is not followed by CRLF")
        body += data[pos : pos + size]
        pos += size + 2
    trailer_end = data.find(CRLF, pos)
    trailers_start = pos
    while trailer_end >= 0 and trailer_end != pos:
        pos = trailer_end + 2
        trailer_end = data.find(CRLF, pos)
    if trailer_end < 0:
        return None
    return pos + 2, body, data[trailers_start:pos]


def message_length(head, data_after_head, no_body=False):
    """Return the body length in bytes that follows HEAD, or None if incomplete.

    Handles Content-Length and chunked framing. A message with neither
    has no body unless until_close framing applies, which callers handle.
    """
    if no_body:
        return 0
    if any("chunked" in v.lower() for v in header_values(head, "Transfer-Encoding")):
        parsed = parse_chunked(data_after_head)
        return None if parsed is None else parsed[0]
    lengths = header_values(head, "Content-Length")
    length = int(lengths[0]) if lengths else 0
    return length if len(data_after_head) >= length else None


class TlsClient:
    """One mutual-TLS connection to the gateway that sends and reads raw bytes."""

    def __init__(self, port, certs, client="client_good", host="127.0.0.1", timeout=10,
                 server_hostname="localhost", max_version=None):
        ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
        ctx.load_cert_chain(os.path.join(certs, client + ".crt"),
                            os.path.join(certs, client + ".key"))
        if max_version is not None:
            ctx.maximum_version = max_version
        raw = socket.create_connection((host, port), timeout=timeout)
        self.sock = ctx.wrap_socket(raw, server_hostname=server_hostname)
        self.buffer = b""
        self.closed = False

    def send(self, data, piece_size=None, delay=0.0):
        """Send DATA, in pieces of PIECE_SIZE bytes with DELAY seconds between them if given."""
        if piece_size is None:
            self.sock.sendall(data)
            return
        for start in range(0, len(data), piece_size):
            if start:
                time.sleep(delay)
            self.sock.sendall(data[start : start + piece_size])

    def _fill(self, deadline):
        """Read more bytes into the buffer. Returns False on close or at the deadline."""
        if self.closed:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            chunk = b""
        if not chunk:
            self.closed = True
            return False
        self.buffer += chunk
        return True

    def _take(self, length):
        data, self.buffer = self.buffer[:length], self.buffer[length:]
        return data

    def read_until_close(self, timeout=10):
        """Read until the gateway closes or TIMEOUT passes; return the bytes."""
        deadline = time.monotonic() + timeout
        while self._fill(deadline):
            pass
        return self._take(len(self.buffer))

    def read_exact(self, length, timeout=10):
        """Read LENGTH bytes, or fewer if the connection closes or TIMEOUT passes."""
        deadline = time.monotonic() + timeout
        while len(self.buffer) < length and self._fill(deadline):
            pass
        return self._take(length)

    def read_response(self, timeout=10, no_body=False):
        """Read one response and return its raw bytes (head and framed body).

        NO_BODY is for responses to HEAD. A 1xx, 204 or 304 response has no
        body either. A response without Content-Length or chunked framing runs
        until the connection closes. On timeout or close the partial bytes
        are returned.
        """
        deadline = time.monotonic() + timeout
        while END_OF_HEAD not in self.buffer:
            if not self._fill(deadline):
                return self._take(len(self.buffer))
        head_length = self.buffer.index(END_OF_HEAD) + 4
        head = self.buffer[:head_length]
        try:
            status = int(head.split(b" ", 2)[1])
        except (IndexError, ValueError):
            return self._take(len(self.buffer))  # not a status line: the caller sees the bytes
        no_body = no_body or status < 200 or status in (204, 304)
        framed = no_body or header_values(head, "Content-Length") or \
            header_values(head, "Transfer-Encoding")
        if not framed:
            return self.read_until_close(max(0.0, deadline - time.monotonic()))
        while True:
            length = message_length(head, self.buffer[head_length:], no_body)
            if length is not None:
                return self._take(head_length + length)
            if not self._fill(deadline):
                return self._take(len(self.buffer))

    def wait_closed(self, timeout=10):
        """Read until the gateway closes; return the bytes, or None if it stays open."""
        data = self.read_until_close(timeout)
        return data if self.closed else None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class UpstreamConnection:
    """One connection the gateway opened to a ScriptedUpstream."""

    def __init__(self, sock, index):
        self.sock = sock
        self.index = index
        self.received = bytearray()  # every byte read from the gateway
        self.requests = []  # raw requests (head and body) read by read_request
        self.buffer = b""
        self.eof = False
        self.done = threading.Event()

    def _fill(self, timeout):
        if self.eof:
            return False
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except OSError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.received += chunk
        self.buffer += chunk
        return True

    def read_head(self, timeout=10):
        """Read the next request head, or return None if the gateway closed first."""
        deadline = time.monotonic() + timeout
        while END_OF_HEAD not in self.buffer:
            if not self._fill(max(0.01, deadline - time.monotonic())) and (
                    self.eof or time.monotonic() >= deadline):
                return None
        end = self.buffer.index(END_OF_HEAD) + 4
        head, self.buffer = self.buffer[:end], self.buffer[end:]
        return head

    def read_body(self, head, timeout=10):
        """Read the raw framed body that follows HEAD (empty without one)."""
        deadline = time.monotonic() + timeout
        while True:
            length = message_length(head, self.buffer)
            if length is not None:
                body, self.buffer = self.buffer[:length], self.buffer[length:]
                return body
            if not self._fill(max(0.01, deadline - time.monotonic())) and (
                    self.eof or time.monotonic() >= deadline):
                body, self.buffer = self.buffer, b""
                return body

    def read_request(self, timeout=10):
        """Read and record the next whole raw request, or return None at close."""
        head = self.read_head(timeout)
        if head is None:
            return None
        request = head + self.read_body(head, timeout)
        self.requests.append(request)
        return request

    def read_until(self, suffix, timeout=10):
        """Read until the unconsumed bytes end with SUFFIX; return and consume them."""
        deadline = time.monotonic() + timeout
        while not self.buffer.endswith(suffix):
            if not self._fill(max(0.01, deadline - time.monotonic())) and (
                    self.eof or time.monotonic() >= deadline):
                break
        data, self.buffer = self.buffer, b""
        return data

    def drain(self, timeout=10):
        """Read and record everything until the gateway closes or TIMEOUT passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._fill(max(0.01, deadline - time.monotonic())) and self.eof:
                return

    def send(self, data):
        self.sock.sendall(data)

    def reset(self):
        """Close with a TCP RST instead of a FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self):
        self.sock.close()


class ScriptedUpstream:
    """A TCP server on 127.0.0.1 whose connections each run SCRIPT(connection).

    SCRIPT runs in its own thread and gets an UpstreamConnection. The server
    keeps every connection, so tests can assert on the exact bytes received.
    """

    def __init__(self, script, port=0):
        self.script = script
        self.listener = socket.create_server(("127.0.0.1", port))
        self.port = self.listener.getsockname()[1]
        self.connections = []
        self.lock = threading.Lock()
        self.listener.settimeout(0.2)
        self.running = True
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self):
        while self.running:
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                connection = UpstreamConnection(sock, len(self.connections))
                self.connections.append(connection)
            threading.Thread(target=self._run, args=(connection,), daemon=True).start()

    def _run(self, connection):
        try:
            self.script(connection)
        except OSError:
            pass
        finally:
            connection.done.set()

    def stop(self):
        """Stop accepting; connections that are open stay open."""
        self.running = False
        self.listener.close()

    def received(self):
        """Return the bytes received on all connections, in accept order."""
        with self.lock:
            return b"".join(bytes(c.received) for c in self.connections)

    def requests(self):
        """Return every whole request read so far, in accept order."""
        with self.lock:
            return [r for c in self.connections for r in c.requests]

    def wait_requests(self, count, timeout=10):
        """Wait until COUNT whole requests have been read; return them."""
        deadline = time.monotonic() + timeout
        while len(self.requests()) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.requests()


def reads_body(action):
    """Mark a serve_by_path action that reads the request body itself.

    It is called with the request head only, for example to send
    100 Continue first. It should append the whole request to
    connection.requests.
    """
    action.reads_body = True
    return action


def serve_by_path(routes, default=b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"):
    """Build a script that replies to each request by its longest matching path prefix.

    ROUTES maps a path prefix to bytes to send, or to a function
    (connection, request) that does the sending. A function that returns
    False ends the connection's script, which leaves the socket as it left
    it. ROUTES may change while the upstream runs.
    """

    def script(connection):
        while (head := connection.read_head(timeout=120)) is not None:
            path = request_path(head)
            prefixes = sorted(routes, key=len, reverse=True)
            action = next((routes[p] for p in prefixes if path.startswith(p)), default)
            if getattr(action, "reads_body", False):
                request = head
            else:
                request = head + connection.read_body(head)
                connection.requests.append(request)
            if callable(action):
                if action(connection, request) is False:
                    return
            else:
                connection.send(action)
        connection.close()

    return script


class Checks:
    """Test assertions that print PASS/FAIL lines and count failures."""

    def __init__(self):
        self.failures = 0

    def equal(self, label, got, expected):
        if got == expected:
            print(f"PASS: {label}", flush=True)
        else:
            self.failures += 1
            print(f"FAIL: {label}:\n  expected {expected!r}\n  got      {got!r}", flush=True)

    def true(self, label, condition, detail=""):
        if condition:
            print(f"PASS: {label}", flush=True)
        else:
            self.failures += 1
            print(f"FAIL: {label}: {detail}", flush=True)

    def exit(self):
        """Exit with the number of failed checks as the status (at most 100)."""
        sys.exit(min(self.failures, 100))
