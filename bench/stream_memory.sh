#!/usr/bin/env bash
# Streams a large body through the gateway in both directions and reports
# the gateway's peak resident memory and whether the SHA-256 at both ends
# matches. Prints one Markdown table row per direction for bench/RESULTS.md.
#
# Usage: bench/stream_memory.sh [SIZE_MIB]   (default 1024)
# Needs build/bin/{certgate,upstream-demo} (cmake --build build).
set -uo pipefail
export CERTGATE_SOURCE_DIR=${CERTGATE_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
source "$CERTGATE_SOURCE_DIR/tests/lib/common.sh"

SIZE_MIB=${1:-1024}
SIZE=$((SIZE_MIB * 1024 * 1024))
CERTS=$WORK/certs
"$CERTGATE_BIN" pki demo --out "$CERTS" >/dev/null || exit 1
GATEWAY_PORT=$(free_port)
UPSTREAM_PORT=$(free_port)
write_demo_config "$WORK/conf" "$CERTS" "$GATEWAY_PORT" "$UPSTREAM_PORT"
cat >>"$WORK/conf/policy.toml" <<TOML
[[routes]]
prefix = "/bytes"
upstream = "demo"
allow_cn = ["good-client"]
[[routes]]
prefix = "/echo"
upstream = "demo"
allow_cn = ["good-client"]
TOML
start_process upstream-demo "$WORK/upstream.log" "listening" \
  "$UPSTREAM_DEMO_BIN" --listen "127.0.0.1:$UPSTREAM_PORT"
start_process certgate "$WORK/gateway.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/conf/gateway.toml" --log-level warn
GATEWAY_PID=$STARTED_PID

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
CURL=(curl -sS --max-time 600 --cacert "$CERTS/ca.crt" --cert "$CERTS/client_good.crt"
  --key "$CERTS/client_good.key")
BASE=https://localhost:$GATEWAY_PORT

# measure LABEL COMMAND...: runs COMMAND while sampling the gateway's
# resident memory; prints LABEL, the memory before and the peak, in KiB.
measure() {
  local label=$1
  shift
  local before peak=0 now
  before=$(rss_kib "$GATEWAY_PID")
  "$@" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    now=$(rss_kib "$GATEWAY_PID")
    ((now > peak)) && peak=$now
    sleep 0.2
  done
  wait "$pid"
  echo "$label $before $peak"
}

start=$(date +%s%N)
download_sum() {
  "${CURL[@]}" "$BASE/bytes?n=$SIZE" | sha256sum | cut -d' ' -f1 >"$WORK/down.sum"
}
read -r _ down_before down_peak < <(measure download download_sum)
down_ms=$((($(date +%s%N) - start) / 1000000))
python3 - "$SIZE" >"$WORK/expected.sum" <<'PY'
import hashlib, sys
size = int(sys.argv[1])
pattern = bytes(i % 251 for i in range(251 * 4096))
digest = hashlib.sha256()
left = size
while left > 0:
    piece = pattern[: min(left, len(pattern))]
    digest.update(piece)
    left -= len(piece)
print(digest.hexdigest())
PY
down_match=no
[[ $(cat "$WORK/down.sum") == $(cat "$WORK/expected.sum") ]] && down_match=yes

head -c "$SIZE" /dev/urandom >"$WORK/upload.bin"
sha256sum <"$WORK/upload.bin" | cut -d' ' -f1 >"$WORK/up.expected"
start=$(date +%s%N)
upload_sum() {
  "${CURL[@]}" -H 'Transfer-Encoding: chunked' -X POST -T "$WORK/upload.bin" "$BASE/echo" |
    sha256sum | cut -d' ' -f1 >"$WORK/up.sum"
}
read -r _ up_before up_peak < <(measure upload upload_sum)
up_ms=$((($(date +%s%N) - start) / 1000000))
up_match=no
[[ $(cat "$WORK/up.sum") == $(cat "$WORK/up.expected") ]] && up_match=yes
rm -f "$WORK/upload.bin"

echo "| direction | size | gateway RSS before | gateway RSS peak | ms | SHA-256 equal |"
echo "| --- | --- | --- | --- | --- | --- |"
printf '| download (`GET /bytes`) | %s MiB | %s KiB | %s KiB | %s | %s |\n' \
  "$SIZE_MIB" "$down_before" "$down_peak" "$down_ms" "$down_match"
printf '| upload, echoed back (`POST /echo`, chunked) | %s MiB | %s KiB | %s KiB | %s | %s |\n' \
  "$SIZE_MIB" "$up_before" "$up_peak" "$up_ms" "$up_match"
[[ $down_match == yes && $up_match == yes ]]
