#!/usr/bin/env bash
# Upstream faults seen through raw bytes. A refused connect, a reset or
# close before the response and a response that is not HTTP give 502 with
# a short body. A reset in the middle of a response ends the client
# connection after the bytes already relayed. The gateway keeps serving,
# and bytes from a broken exchange never reach another request. Only an
# idempotent request whose kept-alive upstream connection closed before
# any response byte is sent again. Two addresses get requests round robin,
# and a refused address is skipped. An upstream that responds and closes
# while the request body still streams has its answer relayed, never a 502.
# The silent upstream (504) is in raw_limits.sh.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CERTS=$WORK/certs
"$CERTGATE_BIN" pki demo --out "$CERTS" >/dev/null || exit 1
GATEWAY_PORT=$(free_port)
UPSTREAM_PORT=$(free_port)
REFUSED_PORT=$(free_port)
PORT_A=$(free_port)
PORT_B=$(free_port)
write_gateway_config "$WORK/conf" "$CERTS" "$GATEWAY_PORT" \
  timeouts.upstream_connect_ms=1500 timeouts.upstream_response_ms=1500
cat >"$WORK/conf/policy.toml" <<TOML
[upstreams.scripted]
address = "127.0.0.1:$UPSTREAM_PORT"
[upstreams.refused]
address = "127.0.0.1:$REFUSED_PORT"
[upstreams.pool]
addresses = ["127.0.0.1:$PORT_A", "127.0.0.1:$PORT_B"]
[[routes]]
prefix = "/"
upstream = "scripted"
allow_cn = ["good-client"]
[[routes]]
prefix = "/refused"
upstream = "refused"
allow_cn = ["good-client"]
[[routes]]
prefix = "/pool"
upstream = "pool"
allow_cn = ["good-client"]
TOML
start_process certgate "$WORK/gateway.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/conf/gateway.toml"

PYTHONPATH=$ROOT/tests/lib timeout 120 python3 - "$GATEWAY_PORT" "$UPSTREAM_PORT" "$CERTS" \
  "$PORT_A" "$PORT_B" "$WORK/gateway.log" <<'PY'
import sys, time
from rawhttp import Checks, ScriptedUpstream, reads_body, TlsClient, local_reply, request_path, serve_by_path

gateway_port, upstream_port, certs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
port_a, port_b, gateway_log = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
check = Checks()
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
LEAKED = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nLEAKED"
PARTIAL = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10
seen_once = set()


def reset_mid_response(connection, request):
    connection.send(PARTIAL)
    time.sleep(0.2)  # the partial response is read before the RST arrives
    connection.reset()
    return False


def close_without_response(connection, request):
    connection.close()
    return False


def close_first_time(connection, request):
    """Close the first time this path is requested, and respond OK after that."""
    if request_path(request) in seen_once:
        connection.send(OK)
        return True
    seen_once.add(request_path(request))
    connection.close()
    return False


def partial_then_close(connection, request):
    connection.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    connection.close()
    return False


def late_bytes(connection, request):
    connection.send(OK)
    time.sleep(0.3)
    connection.send(LEAKED)


@reads_body
def early_401(connection, head):
    connection.requests.append(head)
    connection.send(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n"
                    b"Connection: close\r\n\r\nnope")
    connection.close()  # the body still arrives, so the close sends a RST
    return False


upstream = ScriptedUpstream(serve_by_path({
    "/early-401": early_401,
    "/ok": OK,
    "/reset-mid": reset_mid_response,
    "/close-early": close_without_response,
    "/close-first": close_first_time,
    "/partial": partial_then_close,
    "/garbage": b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
    "/extra": OK + LEAKED,
    "/late": late_bytes,
}), upstream_port)


def get(path, close=False):
    return (f"GET {path} HTTP/1.1\r\nHost: localhost\r\n" +
            ("Connection: close\r\n" if close else "") + "\r\n").encode()


def served(path="/ok"):
    """Send one GET on a new connection and return the bytes until close."""
    client = TlsClient(gateway_port, certs)
    client.send(get(path, close=True))
    return client.wait_closed()


OK_CLOSE = OK.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")


def count(path):
    return sum(1 for r in upstream.requests() if request_path(r) == path)


check.equal("refused: 502 and close", served("/refused"),
            local_reply(502, "Bad gateway: upstream unavailable\n"))
check.equal("refused: next request served", served(), OK_CLOSE)

check.equal("garbage: 502 and close", served("/garbage"),
            local_reply(502, "Bad gateway: invalid response from upstream\n"))
check.equal("garbage: next request served", served(), OK_CLOSE)

check.equal("reset mid-response: the relayed part, then close", served("/reset-mid"),
            PARTIAL.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
check.equal("reset mid-response: next request served", served(), OK_CLOSE)

# The upstream responds 401 and closes while a 200 KB body streams in 8 KB
# pieces: whichever of the failed body write and the response the gateway
# notices first, the client gets the 401 and the connection closes after it.
EARLY_401 = (b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n"
             b"Connection: close\r\n\r\nnope")
BODY_SIZE = 200 * 1024


for attempt in range(8):
    client = TlsClient(gateway_port, certs)
    client.send(b"POST /early-401 HTTP/1.1\r\nHost: localhost\r\n"
                + f"Content-Length: {BODY_SIZE}\r\n\r\n".encode())
    try:
        client.send(b"x" * BODY_SIZE, piece_size=8192, delay=0.002)
    except OSError:
        pass  # the gateway closed the connection before the body ended
    check.equal(f"early 401 during the body, run {attempt + 1}: relayed", client.read_response(),
                EARLY_401)
    check.true(f"early 401 during the body, run {attempt + 1}: connection closed",
               client.wait_closed() is not None)
check.equal("early 401 during the body: next request served", served(), OK_CLOSE)

# Retries: each case first leaves a kept-alive upstream connection in the
# pool, which the upstream then closes as the request arrives.
served()
client = TlsClient(gateway_port, certs)
client.send(b"POST /close-early HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n\r\nbody")
check.equal("POST on a closed kept-alive connection: 502 and close", client.wait_closed(),
            local_reply(502, "Bad gateway: upstream closed the connection\n"))
time.sleep(0.3)  # a second POST would have arrived by now
check.equal("POST on a closed kept-alive connection: upstream sees it once",
            count("/close-early"), 1)
served()
check.equal("GET on a closed kept-alive connection: sent again and served",
            served("/close-first"), OK_CLOSE)
check.equal("GET on a closed kept-alive connection: upstream sees it twice",
            count("/close-first"), 2)
served()
check.equal("GET closed after part of the response: the part, then close", served("/partial"),
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc")
time.sleep(0.3)
check.equal("GET closed after part of the response: not sent again", count("/partial"), 1)

# Bytes after a complete response belong to no request: the next request
# on the same client connection and on another one get their own response.
for path, wait in (("/extra", 0), ("/late", 1.0)):
    client = TlsClient(gateway_port, certs)
    client.send(get(path))
    check.equal(f"{path}: the complete response", client.read_response(), OK)
    time.sleep(wait)  # the late bytes arrive at the idle upstream connection
    other = served()
    check.equal(f"{path}: another client gets its own response", other, OK_CLOSE)
    client.send(get("/ok", close=True))
    check.equal(f"{path}: the same client gets its own response", client.wait_closed(), OK_CLOSE)

# Round robin over two addresses, each on a new client connection.
pool_a = ScriptedUpstream(serve_by_path({"/": b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"}),
                          port_a)
pool_b = ScriptedUpstream(serve_by_path({"/": b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB"}),
                          port_b)
bodies = [served("/pool")[-1:] for _ in range(4)]
check.true("round robin alternates A and B", bodies in ([b"A", b"B"] * 2, [b"B", b"A"] * 2),
           f"bodies in order: {bodies}")

# Passive health: B stops listening and closes its kept-alive connections.
# The first request for B moves to A, and B is skipped after that.
pool_b.stop()
for connection in pool_b.connections:
    connection.close()
time.sleep(0.3)  # the gateway notices that its pooled connections to B closed
before = len(pool_a.requests())
bodies = [served("/pool")[-1:] for _ in range(4)]
check.equal("one address down: every request served by A", bodies, [b"A"] * 4)
check.equal("one address down: A gets all four", len(pool_a.wait_requests(before + 4)) - before, 4)
with open(gateway_log) as log:
    down = [line for line in log if "upstream.address_down" in line and f":{port_b}" in line]
check.equal("one address down: logged once, then skipped", len(down), 1)
check.exit()
PY
rc=$?
((rc == 0)) || fail "$rc raw-socket check(s) failed (FAIL lines above)"
finish
