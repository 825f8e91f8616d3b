#!/usr/bin/env bash
# An Upgrade (WebSocket) request is forwarded with its Upgrade header and
# the identity headers; after the upstream's 101 the gateway relays raw
# bytes both ways until either side closes. A 101 to a request that did not
# ask for an upgrade is a broken upstream (502).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CERTS=$WORK/certs
"$CERTGATE_BIN" pki demo --out "$CERTS" >/dev/null || exit 1
GATEWAY_PORT=$(free_port)
UPSTREAM_PORT=$(free_port)
write_gateway_config "$WORK/conf" "$CERTS" "$GATEWAY_PORT"
cat >"$WORK/conf/policy.toml" <<TOML
[upstreams.ws]
address = "127.0.0.1:$UPSTREAM_PORT"
[[routes]]
prefix = "/"
upstream = "ws"
allow_cn = ["good-client"]
TOML

# The upstream replies to an Upgrade request with 101, a greeting and then
# an echo of every byte. It replies 101 to anything else too, like a broken
# upstream.
cat >"$WORK/upstream.py" <<'PY'
import socket, sys, threading
server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
print("listening", flush=True)
def serve(conn):
    with conn:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                return
            head += chunk
        lines = head.split(b"\r\n\r\n")[0].decode().split("\r\n")
        headers = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\n\r\n")
        conn.sendall(("hello " + headers.get("x-client-cn", "?") + " via " +
                      headers.get("upgrade", "none") + "\n").encode())
        while chunk := conn.recv(4096):
            conn.sendall(chunk)
while True:
    connection, _ = server.accept()
    threading.Thread(target=serve, args=(connection,), daemon=True).start()
PY
start_process upstream "$WORK/upstream.log" "listening" python3 -u "$WORK/upstream.py" "$UPSTREAM_PORT"
start_process certgate "$WORK/gateway.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/conf/gateway.toml"

result=$(timeout 20 python3 - "$GATEWAY_PORT" "$CERTS" <<'PY'
import socket, ssl, sys
port, certs = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=f"{certs}/ca.crt")
ctx.load_cert_chain(f"{certs}/client_good.crt", f"{certs}/client_good.key")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                    server_hostname="localhost")
s.sendall(b"GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n"
          b"Upgrade: websocket\r\nX-Client-CN: spoofed\r\n\r\n")
data = b""
while b"\n" not in data.split(b"\r\n\r\n", 1)[-1] or b"\r\n\r\n" not in data:
    data += s.recv(4096)
print(data.split(b"\r\n")[0].decode())
print(data.split(b"\r\n\r\n", 1)[1].decode().strip())
echoed = b""
s.sendall(b"ping-1234")
while len(echoed) < 9:
    echoed += s.recv(4096)
print(echoed.decode())
# A second connection: the broken upstream replies 101 to a plain GET.
p = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                    server_hostname="localhost")
p.sendall(b"GET /plain HTTP/1.1\r\nHost: localhost\r\n\r\n")
print(p.recv(4096).split(b"\r\n")[0].decode())
PY
)
expect_contains "the upgrade gets 101 through the gateway" "$result" "HTTP/1.1 101 Switching Protocols"
expect_contains "the upstream saw the verified CN and the Upgrade header" "$result" \
  "hello good-client via websocket"
expect_contains "bytes after the 101 are relayed both ways" "$result" "ping-1234"
expect_contains "a 101 to a plain request is a 502" "$result" "HTTP/1.1 502 Bad Gateway"
grep -q "101 Switching Protocols, which the gateway never requested" "$WORK/gateway.log" &&
  pass "the unexpected 101 is logged as such" || fail "no log line for the unexpected 101"
finish
