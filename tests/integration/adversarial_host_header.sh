#!/usr/bin/env bash
# Host headers that route one way in the gateway and another way in the
# upstream. The route for admin.localhost allows only good-client, and the
# route for any host allows second-client too. The gateway must not send
# second-client's request to the upstream with a Host that names
# admin.localhost. Two cases:
#   - two Host headers, which RFC 9112 section 3.2 requires a server to
#     reject with 400. The gateway routes by the first, and an upstream may
#     use the last.
#   - "admin.localhost." with the trailing dot of a fully qualified name.
#     nginx (ngx_http_validate_host) strips that dot and serves the
#     admin.localhost virtual host.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CERTS=$WORK/certs
"$CERTGATE_BIN" pki demo --out "$CERTS" >/dev/null || exit 1
GATEWAY_PORT=$(free_port)
UPSTREAM_PORT=$(free_port)
write_gateway_config "$WORK/conf" "$CERTS" "$GATEWAY_PORT" "tls.chain=\"$CERTS/ca.crt\""
cat >"$WORK/conf/policy.toml" <<TOML
[upstreams.demo]
address = "127.0.0.1:$UPSTREAM_PORT"
[[routes]]
host = "admin.localhost"
prefix = "/"
upstream = "demo"
allow_cn = ["good-client"]
[[routes]]
prefix = "/"
upstream = "demo"
allow_cn = ["good-client", "second-client"]
TOML

start_process upstream-demo "$WORK/upstream.log" "listening" \
  "$UPSTREAM_DEMO_BIN" --listen "127.0.0.1:$UPSTREAM_PORT"
start_process certgate "$WORK/gateway.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/conf/gateway.toml"

# send CLIENT SNI HEAD_LINES sends one request to /headers with the given
# header lines, without SNI when SNI is "-", and prints the response.
send() {
  timeout 20 python3 - "$GATEWAY_PORT" "$CERTS" "$@" <<'PY'
import socket, ssl, sys
port, certs, client, sni, lines = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(cafile=f"{certs}/ca.crt")
ctx.check_hostname = False
ctx.load_cert_chain(f"{certs}/{client}.crt", f"{certs}/{client}.key")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                    server_hostname=None if sni == "-" else sni)
s.sendall(b"GET /headers HTTP/1.1\r\n" + lines.encode() + b"Connection: close\r\n\r\n")
data = b""
try:
    while chunk := s.recv(65536):
        data += chunk
except (OSError, ssl.SSLError):
    pass
print(data.decode("latin-1"))
PY
}

# The setup itself: the admin host denies second-client and allows good-client.
expect_contains "admin host denies second-client" \
  "$(send client_second - $'Host: admin.localhost\r\n')" "HTTP/1.1 403"
expect_contains "admin host allows good-client" \
  "$(send client_good - $'Host: admin.localhost\r\n')" "HTTP/1.1 200"

# check_not_forwarded LABEL RESPONSE: the request must not reach the
# upstream, whose /headers page would list admin.localhost.
check_not_forwarded() {
  local status=${2%%$'\r'*}
  if [[ $2 == "HTTP/1.1 200"* ]]; then
    fail "$1: forwarded to the upstream ($status)"
  else
    pass "$1: not forwarded ($status)"
  fi
}
check_not_forwarded "duplicate Host, no SNI" \
  "$(send client_second - $'Host: localhost\r\nHost: admin.localhost\r\n')"
check_not_forwarded "duplicate Host, SNI localhost" \
  "$(send client_second localhost $'Host: localhost\r\nHost: admin.localhost\r\n')"
check_not_forwarded "Host with a trailing dot, no SNI" \
  "$(send client_second - $'Host: admin.localhost.\r\n')"

finish
