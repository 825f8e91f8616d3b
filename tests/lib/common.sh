# Shared helpers for the shell tests: binaries, temporary directories, free
# ports and processes that are stopped when the test exits. Source it with
#   source "$(dirname "$0")/../lib/common.sh"   (or tests/lib/common.sh)

ROOT=${CERTGATE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CERTGATE_BIN=${CERTGATE_BIN:-$ROOT/build/bin/certgate}
UPSTREAM_DEMO_BIN=${UPSTREAM_DEMO_BIN:-$ROOT/build/bin/upstream-demo}

for binary in "$CERTGATE_BIN" "$UPSTREAM_DEMO_BIN"; do
  if [[ ! -x $binary ]]; then
    echo "missing $binary: build first with cmake -S . -B build && cmake --build build" >&2
    exit 1
  fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/certgate-test.XXXXXX")
STARTED_PIDS=()
FAILURES=0

cleanup() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do
    kill "$pid" 2>/dev/null
  done
  for pid in "${STARTED_PIDS[@]}"; do
    wait "$pid" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# free_port prints a TCP port that is free on 127.0.0.1 and ::1 right now.
free_port() {
  python3 - <<'PY'
import socket
while True:
    s4 = socket.socket()
    s4.bind(("127.0.0.1", 0))
    port = s4.getsockname()[1]
    try:
        s6 = socket.socket(socket.AF_INET6)
        s6.bind(("::1", port))
        s6.close()
    except OSError:
        s4.close()
        continue
    s4.close()
    print(port)
    break
PY
}

# start_process NAME LOGFILE READY_PATTERN COMMAND... starts COMMAND in the
# background, records its PID in STARTED_PID and waits up to 10 s for
# READY_PATTERN to appear in LOGFILE.
start_process() {
  local name=$1 log=$2 pattern=$3
  shift 3
  "$@" >"$log" 2>&1 &
  STARTED_PID=$!
  STARTED_PIDS+=("$STARTED_PID")
  local i
  for ((i = 0; i < 100; i++)); do
    if grep -q "$pattern" "$log" 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$STARTED_PID" 2>/dev/null; then
      echo "FAIL: $name exited during start; its output:" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "FAIL: $name did not print '$pattern' within 10 s; its output:" >&2
  cat "$log" >&2
  exit 1
}

# write_demo_config DIR CERTS GATEWAY_PORT UPSTREAM_PORT [ADMIN_PORT] writes
# gateway.toml and policy.toml into DIR, made from the shipped conf/ files
# with the certificate directory and ports replaced (a free admin port if
# none is given).
write_demo_config() {
  local dir=$1 certs=$2 gateway_port=$3 upstream_port=$4
  mkdir -p "$dir"
  local admin_port=${5:-$(free_port)}
  sed -e "s#\.\./certs#$certs#g" -e "s#:4443\"#:$gateway_port\"#g" \
    -e "s#127.0.0.1:9901#127.0.0.1:$admin_port#" \
    "$ROOT/conf/gateway.toml" >"$dir/gateway.toml"
  sed -e "s#127.0.0.1:8080#127.0.0.1:$upstream_port#" "$ROOT/conf/policy.toml" >"$dir/policy.toml"
  # CERTGATE_TEST_WORKERS=N runs the gateway with [server] workers = N.
  if [[ -n ${CERTGATE_TEST_WORKERS:-} ]]; then
    sed -i "s/^\[server\]$/[server]\nworkers = $CERTGATE_TEST_WORKERS/" "$dir/gateway.toml"
  fi
}

# write_gateway_config DIR CERTS GATEWAY_PORT [SECTION.KEY=VALUE...] writes
# DIR/gateway.toml: TLS on 127.0.0.1:GATEWAY_PORT with the server
# certificate and client CA from CERTS, and the policy in DIR/policy.toml.
# Each further argument adds one key to its section, with VALUE in TOML
# syntax (tls.min_version='"1.2"', timeouts.idle_ms=1000); server.listen
# replaces the default listen address.
write_gateway_config() {
  local dir=$1 certs=$2 gateway_port=$3
  shift 3
  local -A extra=([server]="" [tls]="" [timeouts]="" [limits]="" [policy]="")
  local listen="listen = [\"127.0.0.1:$gateway_port\"]" setting section
  for setting in "$@"; do
    section=${setting%%.*}
    if [[ $setting != *.*=* || ! -v "extra[$section]" ]]; then
      echo "write_gateway_config: '$setting' is not SECTION.KEY=VALUE with a known section" >&2
      exit 1
    fi
    if [[ $setting == server.listen=* ]]; then
      listen="listen = ${setting#server.listen=}"
      continue
    fi
    extra[$section]+="${setting#*.}"$'\n'
  done
  # CERTGATE_TEST_WORKERS=N runs the gateway with [server] workers = N.
  if [[ -n ${CERTGATE_TEST_WORKERS:-} && ${extra[server]} != *workers* ]]; then
    extra[server]+="workers = $CERTGATE_TEST_WORKERS"$'\n'
  fi
  mkdir -p "$dir"
  cat >"$dir/gateway.toml" <<TOML
[server]
$listen
${extra[server]}
[tls]
cert = "$certs/server.crt"
key = "$certs/server.key"
client_ca = "$certs/ca.crt"
${extra[tls]}
[timeouts]
${extra[timeouts]}
[limits]
${extra[limits]}
[policy]
file = "policy.toml"
${extra[policy]}
TOML
}

# write_scripted_policy DIR UPSTREAM_PORT writes DIR/policy.toml with one
# route: every path to the upstream "scripted" on 127.0.0.1:UPSTREAM_PORT,
# for CN good-client.
write_scripted_policy() {
  cat >"$1/policy.toml" <<TOML
[upstreams.scripted]
address = "127.0.0.1:$2"
[[routes]]
prefix = "/"
upstream = "scripted"
allow_cn = ["good-client"]
TOML
}

# start_scripted_gateway [SECTION.KEY=VALUE...] makes the demo PKI in
# $WORK/certs, writes a gateway configuration (extra keys as for
# write_gateway_config) with the one-route policy of write_scripted_policy,
# and starts certgate. It sets CERTS, GATEWAY_PORT, UPSTREAM_PORT (for the
# test's own upstream) and GATEWAY_PID.
start_scripted_gateway() {
  CERTS=$WORK/certs
  "$CERTGATE_BIN" pki demo --out "$CERTS" >/dev/null || exit 1
  GATEWAY_PORT=$(free_port)
  UPSTREAM_PORT=$(free_port)
  write_gateway_config "$WORK/conf" "$CERTS" "$GATEWAY_PORT" "$@"
  write_scripted_policy "$WORK/conf" "$UPSTREAM_PORT"
  start_process certgate "$WORK/gateway.log" "certgate listening" \
    "$CERTGATE_BIN" serve --config "$WORK/conf/gateway.toml"
  GATEWAY_PID=$STARTED_PID
}

pass() { printf 'PASS: %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  FAILURES=$((FAILURES + 1))
}

# expect_contains LABEL HAYSTACK NEEDLE
expect_contains() {
  if [[ $2 == *"$3"* ]]; then
    pass "$1"
  else
    fail "$1: expected to find '$3' in: $2"
  fi
}

finish() {
  if ((FAILURES > 0)); then
    echo "$FAILURES check(s) failed" >&2
    exit 1
  fi
  echo "all checks passed"
}
