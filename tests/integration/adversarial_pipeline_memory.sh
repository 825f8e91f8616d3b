#!/usr/bin/env bash
# A client that pipelines requests and never reads the responses must not
# make the gateway buffer the responses without limit. Each denied request
# (about 40 bytes) produces a 403 of about 170 bytes, so without
# backpressure the gateway's memory grows for as long as the client sends.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CERTS=$WORK/certs
"$CERTGATE_BIN" pki demo --out "$CERTS" >/dev/null || exit 1
GATEWAY_PORT=$(free_port)
UPSTREAM_PORT=$(free_port)
write_demo_config "$WORK/conf" "$CERTS" "$GATEWAY_PORT" "$UPSTREAM_PORT"
# One log line per denied request would fill the disk, so log warnings only.
sed -i 's/^log_level = .*/log_level = "warn"/' "$WORK/conf/gateway.toml"

start_process upstream-demo "$WORK/upstream.log" "listening" \
  "$UPSTREAM_DEMO_BIN" --listen "127.0.0.1:$UPSTREAM_PORT"
start_process certgate "$WORK/gateway.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/conf/gateway.toml"
GATEWAY_PID=$STARTED_PID

# Send denied requests as second-client without reading any response. Stop
# after 8 s, 200 MiB sent, or the gateway passing 150 MiB of memory. Print
# the gateway's peak resident memory in MiB and the MiB sent.
result=$(timeout 30 python3 - "$GATEWAY_PORT" "$CERTS" "$GATEWAY_PID" <<'PY'
import socket, ssl, sys, time
port, certs, pid = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def rss_mib():
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0

ctx = ssl.create_default_context(cafile=f"{certs}/ca.crt")
ctx.load_cert_chain(f"{certs}/client_second.crt", f"{certs}/client_second.key")
raw = socket.create_connection(("127.0.0.1", port), timeout=10)
raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s = ctx.wrap_socket(raw, server_hostname="localhost")
batch = b"GET /secret HTTP/1.1\r\nHost: localhost\r\n\r\n" * 200
s.settimeout(5)
sent = 0
peak = rss_mib()
start = time.monotonic()
while time.monotonic() - start < 8 and sent < 200 * 1024 * 1024:
    try:
        s.sendall(batch)
    except (socket.timeout, OSError):
        break  # the gateway stopped reading for 5 s, so backpressure works
    sent += len(batch)
    peak = max(peak, rss_mib())
    if peak >= 150:
        break  # already past the limit checked below
peak = max(peak, rss_mib())
print(peak, sent // (1024 * 1024))
PY
)
echo "peak RSS MiB, MiB sent: $result"
peak=${result%% *}
sent_mib=${result##* }
# With backpressure the gateway stops reading, so the client can send only
# a few MiB before its writes stall.
if [[ -n $sent_mib && $sent_mib -lt 50 ]]; then
  pass "the gateway stopped reading after $sent_mib MiB"
else
  fail "the client could send $sent_mib MiB without reading a response"
fi
# AddressSanitizer keeps freed memory in quarantine (256 MiB by default), so
# resident memory means little under it; the check above still applies.
limit=100
[[ ${CERTGATE_SANITIZE:-0} == 1 ]] && limit=100000
if [[ -n $peak && $peak -lt $limit ]]; then
  pass "gateway memory stays below 100 MiB (peak ${peak} MiB)"
else
  fail "gateway memory grew to ${peak:-?} MiB for a client that never reads"
fi
kill -0 "$GATEWAY_PID" 2>/dev/null && pass "gateway still running" || fail "gateway exited"

finish
