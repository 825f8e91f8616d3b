#!/usr/bin/env bash
# The exact bytes of proxied HTTP/1.1 messages, sent by a raw TLS client
# and checked at a scripted upstream. Covered: keep-alive, pipelining in
# order, hop-by-hop and Connection-listed headers removed both ways, and
# X-Forwarded-For, X-Forwarded-Proto and Forwarded replaced. Client-sent
# identity headers are stripped, chunked bodies are re-framed with their
# trailers, Expect: 100-continue passes the interim response, HEAD, 204
# and 304 have no body, and a WebSocket upgrade relays bytes both ways
# after the 101. A certificate with commas and quotes in its subject and
# SANs gets identity headers whose values are percent-encoded.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CERTS=$WORK/certs
"$CERTGATE_BIN" pki demo --out "$CERTS" >/dev/null || exit 1
GATEWAY_PORT=$(free_port)
UPSTREAM_PORT=$(free_port)
write_gateway_config "$WORK/conf" "$CERTS" "$GATEWAY_PORT" \
  "server.listen=[\"127.0.0.1:$GATEWAY_PORT\", \"[::1]:$GATEWAY_PORT\"]"
write_scripted_policy "$WORK/conf" "$UPSTREAM_PORT"
# A route that renames the CN header: a client copy of X-User must be
# removed on every route, not only on this one.
cat >>"$WORK/conf/policy.toml" <<TOML
[[routes]]
prefix = "/renamed"
upstream = "scripted"
allow_cn = ["good-client"]
headers = { cn = "X-User" }
TOML

# certgate pki rejects a comma in a SAN, so openssl makes this certificate,
# signed by the demo CA. A URI SAN with ", DNS:" in it must stay one entry.
openssl ecparam -name prime256v1 -genkey -noout -out "$CERTS/client_hostile.key" 2>/dev/null
openssl req -new -key "$CERTS/client_hostile.key" -subj '/O=Evil, Inc. "q"/CN=good-client' \
  -out "$WORK/hostile.csr" 2>/dev/null
printf '%s\n' 'subjectAltName=@sans' 'extendedKeyUsage=clientAuth' '[sans]' 'DNS.1=ok.example' \
  'URI.1=spiffe://corp/x, DNS:admin.internal' 'URI.2=spiffe://corp/100%' >"$WORK/hostile.ext"
openssl x509 -req -in "$WORK/hostile.csr" -CA "$CERTS/ca.crt" -CAkey "$CERTS/ca.key" \
  -CAcreateserial -days 30 -extfile "$WORK/hostile.ext" -out "$CERTS/client_hostile.crt" \
  2>/dev/null || fail "openssl could not make the certificate with a comma in a SAN"
start_process certgate "$WORK/gateway.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/conf/gateway.toml"

PYTHONPATH=$ROOT/tests/lib timeout 120 python3 - "$GATEWAY_PORT" "$UPSTREAM_PORT" "$CERTS" <<'PY'
import subprocess, sys, time
from datetime import datetime
from rawhttp import Checks, ScriptedUpstream, TlsClient, header_values, reads_body, serve_by_path

gateway_port, upstream_port, certs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
check = Checks()


def identity_headers(client):
    """Build the identity header lines the gateway adds, from openssl's view of the certificate."""
    out = subprocess.run(
        ["openssl", "x509", "-in", f"{certs}/{client}.crt", "-noout", "-nameopt", "RFC2253",
         "-subject", "-issuer", "-serial", "-enddate", "-fingerprint", "-sha256",
         "-ext", "subjectAltName"], capture_output=True, text=True, check=True).stdout
    fields = dict(line.split("=", 1) for line in out.splitlines() if "=" in line and
                  not line.startswith(" "))
    # The gateway lists SANs grouped by type: DNS, URI, email, IP.
    listed = ", ".join(line.strip() for line in out.splitlines() if line.startswith(" "))
    entries = [entry.replace("IP Address:", "IP:") for entry in listed.split(", ") if entry]
    order = ["DNS", "URI", "email", "IP"]
    sans = ", ".join(sorted(entries, key=lambda entry: order.index(entry.split(":", 1)[0])))
    not_after = datetime.strptime(fields["notAfter"], "%b %d %H:%M:%S %Y GMT")
    cn = [part[3:] for part in fields["subject"].split(",") if part.startswith("CN=")][0]
    lines = [("X-Client-CN", cn), ("X-Client-Subject", fields["subject"]),
             ("X-Client-Issuer", fields["issuer"]), ("X-Client-Serial", fields["serial"]),
             ("X-Client-Cert-Sha256", fields["sha256 Fingerprint"].replace(":", "").lower()),
             ("X-Client-SAN", sans),
             ("X-Client-Not-After", not_after.strftime("%Y-%m-%dT%H:%M:%SZ"))]
    return b"".join(f"{name}: {value}\r\n".encode() for name, value in lines)


IDENTITY = identity_headers("client_good")


def forwarded(ip="127.0.0.1"):
    quoted = f'"[{ip}]"' if ":" in ip else ip
    return (f"X-Forwarded-For: {ip}\r\nX-Forwarded-Proto: https\r\n"
            f"Forwarded: for={quoted};proto=https\r\n").encode() + IDENTITY


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def slow(connection, request):
    time.sleep(0.5)
    connection.send(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow")


def echo(connection, request):
    body = request.split(b"\r\n\r\n", 1)[1]
    connection.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


def until_close(connection, request):
    connection.send(b"HTTP/1.1 200 OK\r\n\r\nuntil-close")
    connection.close()
    return False


@reads_body
def expect_continue(connection, head):
    # The client sends the body only after the 100.
    connection.send(b"HTTP/1.1 100 Continue\r\n\r\n")
    body = connection.read_body(head)
    connection.requests.append(head + body)
    connection.send(b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\n" + body)


tunnel_bytes = []


def websocket(connection, request):
    connection.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                    b"\r\nserver-first")
    tunnel_bytes.append(connection.read_until(b"\x81\x05hello"))
    connection.send(b"\x82\x03bin")
    connection.drain()
    tunnel_bytes.append(connection.buffer)
    return False


routes = {
    "/ok": OK,
    "/slow": slow,
    "/echo": echo,
    "/hop": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, X-Up-Hop\r\n"
            b"X-Up-Hop: 1\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n"
            b"X-Up-Kept: yes\r\n\r\nok",
    "/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"
                b"3;name=value\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n",
    "/until-close": until_close,
    "/head": b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nContent-Type: text/plain\r\n\r\n",
    "/204": b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
    "/304": b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 10\r\n\r\n',
    "/ws": websocket,
    "/continue": expect_continue,
}
upstream = ScriptedUpstream(serve_by_path(routes), upstream_port)


def exchange(label, request, expected_upstream, expected_response, **client_options):
    """Send one request on a new connection; check both sides and that the connection stays open."""
    before = len(upstream.requests())
    client = TlsClient(gateway_port, certs, **client_options)
    client.send(request)
    check.equal(f"{label}: client gets the response", client.read_response(), expected_response)
    seen = upstream.wait_requests(before + 1)[before:]
    check.equal(f"{label}: upstream gets the request", seen, [expected_upstream])
    check.equal(f"{label}: connection stays open", client.wait_closed(0.3), None)
    client.close()


# Hop-by-hop headers, headers named in Connection, proxy headers and every
# client-sent identity header are removed; the gateway's own are added.
exchange("hop-by-hop and spoofed headers",
         b"GET /hop HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive, X-Hop-A, x-hop-b\r\n"
         b"X-Hop-A: 1\r\nX-Hop-B: 2\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n"
         b"TE: trailers\r\nTrailer: X-T\r\nUpgrade: h2c\r\nProxy-Authorization: Basic eDp5\r\n"
         b"X-End-To-End: kept\r\nX-Forwarded-For: 6.6.6.6\r\nx-forwarded-proto: http\r\n"
         b"Forwarded: for=6.6.6.6;proto=http\r\nX-Client-CN: admin\r\nx_client_cn: admin2\r\n"
         b"X-CLIENT-SUBJECT: CN=admin\r\nClient-Cert: :AAAA:\r\nClient-Cert-Chain: :AAAA:\r\n"
         b"X-Client-Anything: x\r\nX-User: alice\r\nx_user: bob\r\n\r\n",
         b"GET /hop HTTP/1.1\r\nHost: localhost\r\nX-End-To-End: kept\r\n" + forwarded() + b"\r\n",
         b"HTTP/1.1 200 OK\r\nX-Up-Kept: yes\r\nContent-Length: 2\r\n\r\nok")
exchange("client on IPv6",
         b"GET /ok HTTP/1.1\r\nHost: localhost\r\nForwarded: for=unknown\r\n\r\n",
         b"GET /ok HTTP/1.1\r\nHost: localhost\r\n" + forwarded("::1") + b"\r\n", OK,
         host="::1")

# Chunked in both directions: chunk extensions are dropped, trailers kept.
chunked_body = b"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer-A: t1\r\n\r\n"
exchange("chunked request with trailer",
         b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" +
         chunked_body.replace(b"5\r\n", b"5;ext=1\r\n"),
         b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n" +
         forwarded() + b"\r\n" + chunked_body,
         b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(chunked_body), chunked_body))
exchange("chunked response with trailer",
         b"GET /chunked HTTP/1.1\r\nHost: localhost\r\n\r\n",
         b"GET /chunked HTTP/1.1\r\nHost: localhost\r\n" + forwarded() + b"\r\n",
         b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"3\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n")
exchange("body until close re-framed as chunked",
         b"GET /until-close HTTP/1.1\r\nHost: localhost\r\n\r\n",
         b"GET /until-close HTTP/1.1\r\nHost: localhost\r\n" + forwarded() + b"\r\n",
         b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nb\r\nuntil-close\r\n0\r\n\r\n")

# Commas, quotes and '%' from the certificate are percent-encoded, so each
# SAN entry and each DN attribute stays one item when split on ','.
before = len(upstream.requests())
client = TlsClient(gateway_port, certs, client="client_hostile")
client.send(b"GET /ok HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
check.equal("hostile certificate: client gets the response", client.read_response(),
            OK.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
client.close()
hostile = upstream.wait_requests(before + 1)[before]
check.equal("hostile certificate: X-Client-SAN", header_values(hostile, "X-Client-SAN"),
            ["DNS:ok.example, URI:spiffe://corp/x%2C DNS:admin.internal, "
             "URI:spiffe://corp/100%25"])
check.equal("hostile certificate: X-Client-Subject", header_values(hostile, "X-Client-Subject"),
            ["CN=good-client,O=Evil%2C Inc. %22q%22"])
check.equal("hostile certificate: X-Client-CN", header_values(hostile, "X-Client-CN"),
            ["good-client"])

# Keep-alive: two requests one after the other on one connection.
client = TlsClient(gateway_port, certs)
for path in (b"/ok", b"/echo"):
    client.send(b"POST " + path + b" HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc")
    expected = OK if path == b"/ok" else b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
    check.equal(f"keep-alive: {path.decode()} gets its response on the same connection",
                client.read_response(), expected)
client.close()

# Pipelining: three requests in one write get their responses in order, although
# the first one is the slowest.
before = len(upstream.requests())
client = TlsClient(gateway_port, certs)
client.send(b"GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n"
            b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello"
            b"GET /ok HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
check.equal("pipelining: responses in request order, then close", client.wait_closed(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow"
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
paths = [r.split(b" ")[1] for r in upstream.wait_requests(before + 3)[before:]]
check.equal("pipelining: upstream gets the requests in order", paths,
            [b"/slow", b"/echo", b"/ok"])

# HTTP/1.0 without keep-alive gets Connection: close and the gateway closes.
client = TlsClient(gateway_port, certs)
client.send(b"GET /ok HTTP/1.0\r\nHost: localhost\r\n\r\n")
check.equal("HTTP/1.0: response with Connection: close, then close", client.wait_closed(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

# Expect: 100-continue: the upstream's interim 100 reaches the client
# before the body is sent, then the final response.
before = len(upstream.requests())
client = TlsClient(gateway_port, certs)
client.send(b"POST /continue HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n"
            b"Content-Length: 4\r\n\r\n")
check.equal("100-continue: interim response first", client.read_response(),
            b"HTTP/1.1 100 Continue\r\n\r\n")
client.send(b"data")
check.equal("100-continue: final response after the body", client.read_response(),
            b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndata")
check.equal("100-continue: upstream gets the Expect header and the body",
            upstream.wait_requests(before + 1)[before:],
            [b"POST /continue HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n"
             b"Content-Length: 4\r\n" + forwarded() + b"\r\ndata"])
client.close()

# HEAD, 204 and 304 have no body, so the response to the next request
# follows right after their heads.
client = TlsClient(gateway_port, certs)
client.send(b"HEAD /head HTTP/1.1\r\nHost: localhost\r\n\r\n"
            b"GET /204 HTTP/1.1\r\nHost: localhost\r\n\r\n"
            b'GET /304 HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: "v1"\r\n\r\n'
            b"GET /ok HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
check.equal("HEAD, 204 and 304 without bodies", client.wait_closed(),
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1234\r\n\r\n"
            b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"
            b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 10\r\n\r\n'
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

# WebSocket: the upgrade is forwarded with its Upgrade header, and after the
# 101 bytes flow both ways unchanged.
before = len(upstream.requests())
client = TlsClient(gateway_port, certs)
client.send(b"GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
switched = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\nserver-first")
check.equal("upgrade: 101 and the upstream's first bytes", client.read_exact(len(switched)),
            switched)
client.send(b"\x81\x05hello")
check.equal("upgrade: upstream bytes reach the client", client.read_exact(5), b"\x82\x03bin")
client.close()
check.equal("upgrade: upstream gets the head with Upgrade", upstream.wait_requests(before + 1)[before:],
            [b"GET /ws HTTP/1.1\r\nHost: localhost\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             b"Sec-WebSocket-Version: 13\r\n" + forwarded() +
             b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"])
deadline = time.monotonic() + 10
while len(tunnel_bytes) < 2 and time.monotonic() < deadline:
    time.sleep(0.05)
check.equal("upgrade: upstream gets the client's bytes, then the close", tunnel_bytes,
            [b"\x81\x05hello", b""])
check.exit()
PY
rc=$?
((rc == 0)) || fail "$rc raw-socket check(s) failed (FAIL lines above)"
finish
