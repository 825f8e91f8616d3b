#!/usr/bin/env bash
# With [policy] watch = true, saving the policy file reloads it without a
# signal, also when an editor replaces the file by renaming a new one over
# it; a broken save keeps the previous policy. The start banner names only
# the first five allowed CNs of a route.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CERTS=$WORK/certs
"$CERTGATE_BIN" pki demo --out "$CERTS" >/dev/null || exit 1
GATEWAY_PORT=$(free_port)
UPSTREAM_PORT=$(free_port)
write_demo_config "$WORK/conf" "$CERTS" "$GATEWAY_PORT" "$UPSTREAM_PORT"
sed -i 's/file = "policy.toml"/file = "policy.toml"\nwatch = true/' "$WORK/conf/gateway.toml"
sed -i 's/allow_cn = \["good-client"\]/allow_cn = ["good-client", "c1", "c2", "c3", "c4", "c5", "c6"]/' \
  "$WORK/conf/policy.toml"
start_process upstream-demo "$WORK/upstream.log" "listening" \
  "$UPSTREAM_DEMO_BIN" --listen "127.0.0.1:$UPSTREAM_PORT"
start_process certgate "$WORK/gateway.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$WORK/conf/gateway.toml"

status_of_second() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$CERTS/ca.crt" \
    --cert "$CERTS/client_second.crt" --key "$CERTS/client_second.key" \
    "https://localhost:$GATEWAY_PORT/secret"
}
# wait_for_status CODE: polls for up to 5 s.
wait_for_status() {
  local i
  for ((i = 0; i < 50; i++)); do
    [[ $(status_of_second) == "$1" ]] && return 0
    sleep 0.1
  done
  return 1
}

grep -q 'allowed CN: good-client, c1, c2, c3, c4 and 2 more$' "$WORK/gateway.log" &&
  pass "the banner names five CNs and counts the rest" || fail "banner CN list"
[[ $(status_of_second) == 403 ]] && pass "second-client starts denied" || fail "second-client start"
sed 's/allow_cn = \["good-client",/allow_cn = ["good-client", "second-client",/' \
  "$WORK/conf/policy.toml" >"$WORK/conf/policy.toml.new"
mv "$WORK/conf/policy.toml.new" "$WORK/conf/policy.toml"
wait_for_status 200 && pass "a renamed-over policy file is picked up without a signal" ||
  fail "second-client still denied 5 s after the policy file changed"
echo 'routes = "broken' >>"$WORK/conf/policy.toml"
sleep 1
[[ $(status_of_second) == 200 ]] && pass "a broken save keeps the previous policy" ||
  fail "a broken policy file changed the decision"
grep -q 'server.reloading cause="policy file changed"' "$WORK/gateway.log" &&
  pass "the reload names its cause" || fail "no server.reloading line for the file change"
finish
