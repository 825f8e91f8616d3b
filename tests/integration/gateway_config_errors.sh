#!/usr/bin/env bash
# A bad configuration stops the gateway at start with the file, the line
# and what to fix, and check-config reports the same.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CERTS=$WORK/certs
"$CERTGATE_BIN" pki demo --out "$CERTS" >/dev/null || exit 1
write_demo_config "$WORK/conf" "$CERTS" "$(free_port)" "$(free_port)"
cp "$WORK/conf/policy.toml" "$WORK/policy.good"

output=$("$CERTGATE_BIN" check-config --config "$WORK/conf/gateway.toml" 2>&1)
expect_contains "shipped configuration passes check-config" "$output" "OK"

# expect_start_error LABEL EXPECTED: serve must exit 1 and print EXPECTED.
expect_start_error() {
  local output code
  output=$(timeout 10 "$CERTGATE_BIN" serve --config "$WORK/conf/gateway.toml" 2>&1)
  code=$?
  if [[ $code == 1 && $output == *"$2"* ]]; then
    pass "$1"
  else
    fail "$1: expected exit 1 and '$2', got exit $code: $output"
  fi
  cp "$WORK/policy.good" "$WORK/conf/policy.toml"
}

printf '[[routes]\n' >>"$WORK/conf/policy.toml"
expect_start_error "TOML syntax error names file and line" "policy.toml:19:10: TOML syntax error"
sed -i 's/allow_cn = \["good-client"\]/allow_cn = "good-client"/' "$WORK/conf/policy.toml"
expect_start_error "CN list of the wrong type is explained" \
  "'allow_cn' must be an array of strings, for example allow_cn = [\"good-client\"]"
printf 'colour = "blue"\n' | cat - "$WORK/policy.good" >"$WORK/conf/policy.toml"
expect_start_error "unknown key is named" "policy.toml:1:10: unknown key 'colour'"
sed -i 's/upstream = "demo"/upstream = "missing"/' "$WORK/conf/policy.toml"
expect_start_error "undefined upstream is named" "upstream 'missing', which is not defined"

cp "$WORK/conf/gateway.toml" "$WORK/gateway.good"
sed -i 's#file = "policy.toml"#file = "nope.toml"#' "$WORK/conf/gateway.toml"
expect_start_error "missing policy file is named" "nope.toml not found; create it or change [policy] file"
cp "$WORK/gateway.good" "$WORK/conf/gateway.toml"
sed -i "s#$CERTS/server.key#$CERTS/client_good.key#" "$WORK/conf/gateway.toml"
expect_start_error "key not matching the certificate is named" "does not match certificate"
cp "$WORK/gateway.good" "$WORK/conf/gateway.toml"
sed -i "s#client_ca = .*#client_ca = \"$WORK/none.crt\"#" "$WORK/conf/gateway.toml"
expect_start_error "missing CA file is named" "none.crt cannot be read"
cp "$WORK/gateway.good" "$WORK/conf/gateway.toml"

output=$("$CERTGATE_BIN" serve --config "$WORK/absent.toml" 2>&1)
expect_contains "missing config file is named" "$output" "absent.toml: file not found"
finish
