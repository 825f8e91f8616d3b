#!/usr/bin/env bash
# Checks every route of upstream-demo over real loopback HTTP: identity
# headers, HTML escaping, HEAD, 404/405, chunked responses and uploads, a
# 2 MiB /bytes body against its pattern, keep-alive, pipelining, malformed
# and oversized requests, and a clean exit on SIGTERM.
#
# CTest sets UPSTREAM_DEMO_BIN; to run it alone, export that variable (and
# optionally CERTGATE_SOURCE_DIR and CERTGATE_BUILD_DIR) and run
#   bash tests/integration/upstream_demo_http.sh
set -euo pipefail

: "${UPSTREAM_DEMO_BIN:?set UPSTREAM_DEMO_BIN to the upstream-demo binary}"

work_dir=$(mktemp -d)
server_pid=""

cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work_dir"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [[ -f "$work_dir/server.err" ]]; then
    echo "--- upstream-demo stderr (last 20 lines) ---" >&2
    tail -n 20 "$work_dir/server.err" >&2
  fi
  exit 1
}

# expect_eq CHECK ACTUAL EXPECTED
expect_eq() {
  if [[ "$2" != "$3" ]]; then
    fail "$1: expected [$3], got [$2]"
  fi
}

# expect_contains CHECK TEXT NEEDLE
expect_contains() {
  if [[ "$2" != *"$3"* ]]; then
    fail "$1: expected the output to contain [$3], got [$2]"
  fi
}

# Every curl call is bounded in time.
http() {
  curl --silent --show-error --max-time 10 "$@"
}

# raw_http PAYLOAD_PYTHON_BYTES_LITERAL: sends the bytes on one connection,
# half-closes it and prints everything the server sends back before it
# closes, with CR removed, NUL bytes shown as "\0" and "<EOF>" appended, so
# that the output survives command substitution.
raw_http() {
  python3 - "$port" "$1" <<'PY'
import ast, socket, sys
port, payload = int(sys.argv[1]), ast.literal_eval(sys.argv[2])
with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        piece = s.recv(65536)
        if not piece:
            break
        data += piece
text = data.decode("latin-1").replace("\r", "").replace("\0", "\\0")
sys.stdout.write(text + "<EOF>")
PY
}

# --- Start the server --------------------------------------------------------

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$UPSTREAM_DEMO_BIN" --listen "127.0.0.1:$port" >"$work_dir/server.out" 2>"$work_dir/server.err" &
server_pid=$!

for _ in $(seq 1 50); do
  if grep -q "listening" "$work_dir/server.out"; then
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || fail "start: upstream-demo exited early"
  sleep 0.1
done
expect_eq "start: listening line" "$(cat "$work_dir/server.out")" \
  "upstream-demo listening on http://127.0.0.1:$port"
base="http://127.0.0.1:$port"

# --- /secret -----------------------------------------------------------------

body=$(http -H 'X-Client-CN: good-client' "$base/secret")
expect_eq "/secret with CN: body" "$body" "Secret resource. Welcome good-client!"

status=$(http -o "$work_dir/body" -w '%{http_code}' "$base/secret")
expect_eq "/secret without CN: status" "$status" "401"
expect_eq "/secret without CN: body" "$(cat "$work_dir/body")" "Missing client identity"

content_type=$(http -o /dev/null -w '%{content_type}' -H 'X-Client-CN: good-client' "$base/secret")
expect_eq "/secret: content type" "$content_type" "text/plain; charset=utf-8"

# --- / -----------------------------------------------------------------------

page=$(http -H 'X-Client-CN: good-client' -H 'X-Client-Subject: CN=good-client,O=Demo' \
  -H 'X-Client-Cert-Sha256: 0a1b2c' "$base/")
expect_contains "/: title" "$page" "<title>certgate demo</title>"
expect_contains "/: greeting" "$page" "Hello, good-client!"
expect_contains "/: subject" "$page" "CN=good-client,O=Demo"
expect_contains "/: fingerprint" "$page" "0a1b2c"

page=$(http -H 'X-Client-CN: <b>&"x' -H 'X-Client-Subject: CN=<i>' "$base/")
expect_contains "/: CN is HTML-escaped" "$page" "Hello, &lt;b&gt;&amp;&quot;x!"
expect_contains "/: subject is HTML-escaped" "$page" "CN=&lt;i&gt;"
if [[ "$page" == *"<b>"* || "$page" == *"<i>"* ]]; then
  fail "/: a header value appears unescaped in the page"
fi

status=$(http -o /dev/null -w '%{http_code}' "$base/")
expect_eq "/ without CN: status" "$status" "401"
content_type=$(http -o /dev/null -w '%{content_type}' "$base/")
expect_eq "/ without CN: content type" "$content_type" "text/html; charset=utf-8"

# --- /headers ----------------------------------------------------------------

body=$(http -H 'X-Client-CN: good-client' -H 'X-First: 1' -H 'X-Second: two words' \
  "$base/headers")
expect_contains "/headers: lists headers in order" "$body" \
  $'X-Client-CN: good-client\nX-First: 1\nX-Second: two words'
expect_contains "/headers: lists Host" "$body" "Host: 127.0.0.1:$port"

# --- /echo -------------------------------------------------------------------

body=$(http --data-binary 'hello, echo' "$base/echo")
expect_eq "/echo with Content-Length: body" "$body" "hello, echo"

head -c 3000000 /dev/urandom >"$work_dir/upload.bin"
http -H 'Transfer-Encoding: chunked' --data-binary @"$work_dir/upload.bin" \
  -D "$work_dir/echo.headers" -o "$work_dir/echo.bin" "$base/echo"
cmp -s "$work_dir/upload.bin" "$work_dir/echo.bin" ||
  fail "/echo with a chunked 3 MB upload: response body differs from the upload"
expect_contains "/echo: content type" "$(cat "$work_dir/echo.headers")" \
  "Content-Type: application/octet-stream"
expect_contains "/echo: streamed with chunked encoding" "$(cat "$work_dir/echo.headers")" \
  "Transfer-Encoding: chunked"

status=$(http -o /dev/null -w '%{http_code}' "$base/echo")
expect_eq "GET /echo: status" "$status" "405"

# --- /chunked ----------------------------------------------------------------

http -D "$work_dir/chunked.headers" -o "$work_dir/chunked.body" "$base/chunked?n=5"
expect_contains "/chunked: transfer encoding" "$(cat "$work_dir/chunked.headers")" \
  "Transfer-Encoding: chunked"
expect_eq "/chunked?n=5: body" "$(cat "$work_dir/chunked.body")" \
  "$(printf 'chunk %d\n' 0 1 2 3 4)"

raw=$(raw_http 'b"GET /chunked?n=3 HTTP/1.1\r\nConnection: close\r\n\r\n"')
expect_contains "/chunked?n=3: one chunk per line" "$raw" \
  $'8\nchunk 0\n\n8\nchunk 1\n\n8\nchunk 2\n\n0\n\n<EOF>'

lines=$(http "$base/chunked?n=10000" | wc -l)
expect_eq "/chunked?n=10000: line count" "$lines" "10000"

for query in "n=10001" "n=-1" "n=abc" ""; do
  status=$(http -o /dev/null -w '%{http_code}' "$base/chunked?$query")
  expect_eq "/chunked?$query: status" "$status" "400"
done

# --- /bytes ------------------------------------------------------------------

length=$((2 * 1024 * 1024))
actual=$(http "$base/bytes?n=$length" | sha256sum | cut -d' ' -f1)
expected=$(python3 -c "
import hashlib
n = $length
print(hashlib.sha256((bytes(range(251)) * (n // 251 + 1))[:n]).hexdigest())")
expect_eq "/bytes?n=$length: SHA-256 of the pattern" "$actual" "$expected"

content_length=$(http -D - -o /dev/null "$base/bytes?n=$length" | tr -d '\r' |
  sed -n 's/^Content-Length: //Ip')
expect_eq "/bytes: Content-Length" "$content_length" "$length"

status=$(http -o /dev/null -w '%{http_code}' "$base/bytes?n=1073741825")
expect_eq "/bytes above 1 GiB: status" "$status" "400"

# --- HEAD, 404 and 405 -------------------------------------------------------

raw=$(raw_http 'b"HEAD /secret HTTP/1.1\r\nX-Client-CN: good-client\r\nConnection: close\r\n\r\n"')
expect_contains "HEAD /secret: status line" "$raw" "HTTP/1.1 200 OK"
expect_contains "HEAD /secret: GET's Content-Length" "$raw" "Content-Length: 38"
if [[ "$raw" == *"Secret resource"* ]]; then
  fail "HEAD /secret: response has a body"
fi

raw=$(raw_http 'b"HEAD /bytes?n=1000000 HTTP/1.1\r\nConnection: close\r\n\r\n"')
expect_contains "HEAD /bytes: GET's Content-Length" "$raw" "Content-Length: 1000000"
expect_eq "HEAD /bytes: no body after the head" "${raw##*$'\n\n'}" "<EOF>"

status=$(http -o "$work_dir/body" -w '%{http_code}' "$base/no-such-page")
expect_eq "unknown path: status" "$status" "404"
expect_eq "unknown path: body" "$(cat "$work_dir/body")" "Not found"

allow=$(http -X DELETE -D - -o /dev/null "$base/secret" | tr -d '\r' | sed -n 's/^Allow: //Ip')
expect_eq "DELETE /secret: Allow header" "$allow" "GET, HEAD"
status=$(http -o /dev/null -w '%{http_code}' -X POST "$base/headers")
expect_eq "POST /headers: status" "$status" "405"

# --- Connections -------------------------------------------------------------

connects=$(http -o /dev/null -o /dev/null -w '%{num_connects}\n' -H 'X-Client-CN: a' \
  "$base/secret" "$base/headers" | tr '\n' ' ')
expect_eq "keep-alive: new connections per request" "$connects" "1 0 "

raw=$(raw_http 'b"GET /secret HTTP/1.1\r\nX-Client-CN: first\r\n\r\nGET /bytes?n=300000 HTTP/1.1\r\n\r\nGET /secret HTTP/1.1\r\nX-Client-CN: third\r\n\r\n"')
expect_eq "pipelining: responses in order" \
  "$(grep -a -o -E 'Welcome [a-z]+|Content-Length: 300000' <<<"$raw" | tr '\n' ' ')" \
  "Welcome first Content-Length: 300000 Welcome third "

raw=$(raw_http 'b"GET /secret HTTP/1.1\r\nX-Client-CN: a\r\nConnection: close\r\n\r\nGET /secret HTTP/1.1\r\nX-Client-CN: b\r\n\r\n"')
expect_contains "Connection: close: header in response" "$raw" "Connection: close"
if [[ "$raw" == *"Welcome b"* ]]; then
  fail "Connection: close: a request after it was answered"
fi

raw=$(raw_http 'b"GET /secret HTTP/1.0\r\nX-Client-CN: a\r\n\r\nGET /secret HTTP/1.0\r\nX-Client-CN: b\r\n\r\n"')
expect_contains "HTTP/1.0: closes after one response" "$raw" "Welcome a"
if [[ "$raw" == *"Welcome b"* ]]; then
  fail "HTTP/1.0: a second request was answered without keep-alive"
fi

raw=$(raw_http 'b"GET /chunked?n=2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /secret HTTP/1.0\r\nX-Client-CN: b\r\n\r\n"')
expect_contains "HTTP/1.0 keep-alive: header in response" "$raw" "Connection: keep-alive"
expect_contains "HTTP/1.0 /chunked: Content-Length instead of chunks" "$raw" "Content-Length: 16"
expect_contains "HTTP/1.0 keep-alive: second request answered" "$raw" "Welcome b"

# --- Invalid requests --------------------------------------------------------

raw=$(raw_http 'b"THIS IS NOT HTTP\r\n\r\n"')
expect_contains "malformed request line: status" "$raw" "HTTP/1.1 400 Bad Request"
expect_contains "malformed request line: closes" "$raw" "Connection: close"

raw=$(raw_http 'b"GET /secret HTTP/1.1\r\nNo colon here\r\n\r\n"')
expect_contains "malformed header: status" "$raw" "HTTP/1.1 400 Bad Request"

raw=$(raw_http 'b"POST /echo HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"')
expect_contains "Content-Length with chunked: status" "$raw" "HTTP/1.1 400 Bad Request"

big_value=$(head -c 17000 /dev/zero | tr '\0' a)
raw=$(raw_http "b\"GET / HTTP/1.1\\r\\nX-Big: $big_value\\r\\n\\r\\n\"")
expect_contains "header section over 16 KiB: status" "$raw" \
  "HTTP/1.1 431 Request Header Fields Too Large"

raw=$(raw_http 'b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nnot-hex\r\n"')
# The chunked response has started, so the only way to report the error is
# to close the connection without the last chunk.
expect_contains "invalid chunk during /echo: closed after the first chunk" "$raw" \
  $'\n\n5\nhello\n<EOF>'

# --- Log ---------------------------------------------------------------------

expect_contains "log: request line with CN" "$(cat "$work_dir/server.err")" \
  "method=GET path=/secret status=200 cn=good-client"

# --- SIGTERM -----------------------------------------------------------------

# An idle keep-alive connection must not hold up the exit.
python3 - "$port" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
time.sleep(5)
PY
idle_client_pid=$!
sleep 0.2

kill -TERM "$server_pid"
exit_status=""
for _ in $(seq 1 20); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    wait "$server_pid" && exit_status=0 || exit_status=$?
    break
  fi
  sleep 0.1
done
kill "$idle_client_pid" 2>/dev/null || true
[[ -n "$exit_status" ]] || fail "SIGTERM: upstream-demo still running after 2 s"
server_pid=""
expect_eq "SIGTERM: exit status" "$exit_status" "0"

echo "upstream_demo_http: all checks passed"
