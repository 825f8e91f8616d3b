#!/usr/bin/env bash
# Build certgate and run the demo: the demo PKI in certs/ (created if
# missing), the demo upstream on 127.0.0.1:8080 and the gateway on
# https://localhost:4443 in the foreground. Ctrl+C stops both.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

# The demo uses fixed ports; say which one is taken rather than fail later.
for port in 4443 8080 9901; do
  if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
    echo "demo: port $port on 127.0.0.1 is already in use (4443 gateway, 8080 demo" \
      "upstream, 9901 admin); stop what uses it, or run tests/scenarios.sh, which picks" \
      "free ports" >&2
    exit 1
  fi
done

if [[ ! -f certs/ca.crt ]]; then
  build/bin/certgate pki demo --out certs
fi

build/bin/upstream-demo --listen 127.0.0.1:8080 &
upstream_pid=$!
stop_upstream() {
  kill "$upstream_pid" 2>/dev/null || true
  wait "$upstream_pid" 2>/dev/null || true
}
trap stop_upstream EXIT
# Ctrl+C reaches the gateway directly (same process group); the script
# itself only waits for it to finish draining.
trap ':' INT TERM

cat <<'TEXT'
Try it (from another terminal, in this directory):
  curl --cacert certs/ca.crt --cert certs/client_good.crt --key certs/client_good.key https://localhost:4443/secret
  curl --cacert certs/ca.crt --cert certs/client_second.crt --key certs/client_second.key https://localhost:4443/secret
  tests/scenarios.sh     (all five outcomes, on their own ports)
TEXT
status=0
build/bin/certgate serve --config conf/gateway.toml || status=$?
exit "$status"
