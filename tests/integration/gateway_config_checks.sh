#!/usr/bin/env bash
# check-config and serve reject TLS files that cannot work, warn about an
# expired CRL and readable key files, reject bad options, describe routes
# in the start banner as configured, and compare a reload's worker count
# against the running one.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

CERTS=$WORK/certs
"$CERTGATE_BIN" pki demo --out "$CERTS" >/dev/null || exit 1
GATEWAY_PORT=$(free_port)
UPSTREAM_PORT=$(free_port)
ADMIN_PORT=$(free_port)
write_demo_config "$WORK/conf" "$CERTS" "$GATEWAY_PORT" "$UPSTREAM_PORT" "$ADMIN_PORT"
CONF=$WORK/conf/gateway.toml
cp "$CONF" "$WORK/gateway.good"
cp "$WORK/conf/policy.toml" "$WORK/policy.good"

# expect_exit LABEL CODE EXPECTED COMMAND...: COMMAND must exit CODE and
# print EXPECTED.
expect_exit() {
  local label=$1 code=$2 expected=$3 output actual
  shift 3
  output=$(timeout 10 "$@" 2>&1)
  actual=$?
  if [[ $actual == "$code" && $output == *"$expected"* ]]; then
    pass "$label"
  else
    fail "$label: expected exit $code and '$expected', got exit $actual: $output"
  fi
}

restore() {
  cp "$WORK/gateway.good" "$CONF"
  cp "$WORK/policy.good" "$WORK/conf/policy.toml"
}

# Options.
expect_exit "check-config rejects an unknown log level" 2 "use debug, info, warn or error" \
  "$CERTGATE_BIN" check-config --config "$CONF" --log-level loud
expect_exit "serve rejects an unknown log level" 2 "invalid log level 'loud'" \
  "$CERTGATE_BIN" serve --config "$CONF" --log-level loud
expect_exit "serve names an unknown option" 2 "unknown option '--bogus'" \
  "$CERTGATE_BIN" serve --bogus
expect_exit "missing option value is named" 2 "missing value for '--config'" \
  "$CERTGATE_BIN" check-config --config
expect_exit "explain names a missing certificate file" 2 "$WORK/absent.crt: file not found" \
  "$CERTGATE_BIN" explain --config "$CONF" --cert "$WORK/absent.crt" --path /secret

# TLS files that cannot work.
sed -i "s#^key = .*#key = \"$CERTS\"#" "$CONF"
expect_exit "key path that is a directory is named" 1 "[tls] key $CERTS is a directory" \
  "$CERTGATE_BIN" check-config --config "$CONF"
restore
sed -i "s#^client_ca = .*#client_ca = \"$CERTS/client_good.crt\"#" "$CONF"
expect_exit "leaf certificate as client_ca is rejected" 1 "which is not a CA certificate" \
  "$CERTGATE_BIN" check-config --config "$CONF"
expect_exit "serve rejects a leaf as client_ca" 1 "which is not a CA certificate" \
  "$CERTGATE_BIN" serve --config "$CONF"
restore
sed -i -e "s#^cert = .*#cert = \"$CERTS/client_expired.crt\"#" \
  -e "s#^key = .*#key = \"$CERTS/client_expired.key\"#" "$CONF"
expect_exit "expired server certificate is rejected" 1 "expired at" \
  "$CERTGATE_BIN" check-config --config "$CONF"
restore
sed -i -e "s#^cert = .*#cert = \"$CERTS/client_good.crt\"#" \
  -e "s#^key = .*#key = \"$CERTS/client_good.key\"#" "$CONF"
expect_exit "server certificate without serverAuth is rejected" 1 "without serverAuth" \
  "$CERTGATE_BIN" check-config --config "$CONF"
restore
chmod 644 "$CERTS/server.key"
expect_exit "readable key file gives a chmod warning" 0 "fix: chmod 600 $CERTS/server.key" \
  "$CERTGATE_BIN" check-config --config "$CONF"
chmod 600 "$CERTS/server.key"

# An expired CRL: check-config warns, serve logs the warning, exports the
# nextUpdate and logs handshakes it fails as crl_expired.
/usr/bin/python3 - "$CERTS/ca.crt" "$CERTS/ca.key" "$WORK/expired.crl" <<'PY' || exit 1
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
ca = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
key = serialization.load_pem_private_key(open(sys.argv[2], "rb").read(), password=None)
now = datetime.datetime.now(datetime.timezone.utc)
crl = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject)
       .last_update(now - datetime.timedelta(days=2))
       .next_update(now - datetime.timedelta(days=1))
       .sign(key, hashes.SHA256()))
open(sys.argv[3], "wb").write(crl.public_bytes(serialization.Encoding.PEM))
PY
sed -i "s#^client_ca = .*#&\ncrl = \"$WORK/expired.crl\"#" "$CONF"
expect_exit "check-config warns about an expired CRL" 0 "OK with 1 warning" \
  "$CERTGATE_BIN" check-config --config "$CONF"
output=$("$CERTGATE_BIN" check-config --config "$CONF" 2>&1)
expect_contains "the CRL warning names file and nextUpdate" "$output" \
  "warning: $WORK/expired.crl: CRL from CN=Demo Root CA expired at its nextUpdate 20"
expect_contains "the CRL warning gives the fix" "$output" "certgate pki crl"

start_process upstream "$WORK/upstream.log" "listening" \
  "$UPSTREAM_DEMO_BIN" --listen "127.0.0.1:$UPSTREAM_PORT"
start_process gateway "$WORK/gateway.log" "certgate listening" \
  "$CERTGATE_BIN" serve --config "$CONF"
GATEWAY_PID=$STARTED_PID
grep -q "config.warning .*file=$WORK/expired.crl" "$WORK/gateway.log" &&
  pass "serve logs the expired CRL at start" ||
  fail "no config.warning for the CRL at start: $(cat "$WORK/gateway.log")"
metrics=$(curl -sS --max-time 5 "http://127.0.0.1:$ADMIN_PORT/metrics")
expect_contains "CRL next update is exported" "$metrics" \
  'certgate_certificate_expiry_seconds{role="crl"'
curl -sS --max-time 5 --cacert "$CERTS/ca.crt" --cert "$CERTS/client_good.crt" \
  --key "$CERTS/client_good.key" "https://localhost:$GATEWAY_PORT/secret" >/dev/null 2>&1
sleep 0.3
grep -q "reason=crl_expired" "$WORK/gateway.log" &&
  pass "handshake log names the expired CRL" ||
  fail "no reason=crl_expired: $(grep handshake "$WORK/gateway.log")"
kill -HUP "$GATEWAY_PID"
sleep 1
[[ $(grep -c "config.warning .*file=$WORK/expired.crl" "$WORK/gateway.log") == 2 ]] &&
  pass "reload logs the expired CRL again" ||
  fail "expected a second config.warning after reload: $(cat "$WORK/gateway.log")"
kill "$GATEWAY_PID"
wait "$GATEWAY_PID" 2>/dev/null
restore

# Start banner: public, non-CN rules and request mode.
cat >>"$WORK/conf/policy.toml" <<TOML

[[routes]]
prefix = "/open"
upstream = "demo"
public = true

[[routes]]
prefix = "/team"
upstream = "demo"
allow = [{ issuer = "CN=Demo Root CA" }, { o = "Demo", ou = "ops" }]
TOML
sed -i 's#^min_version = .*#&\nclient_cert = "request"#' "$CONF"
sed -i 's/^\[server\]$/[server]\nworkers = 2/' "$CONF"
start_process gateway "$WORK/banner.log" "everything else" \
  "$CERTGATE_BIN" serve --config "$CONF"
GATEWAY_PID=$STARTED_PID
banner=$(cat "$WORK/banner.log")
expect_contains "banner keeps the allow_cn line" "$banner" \
  "route /secret -> upstream demo (127.0.0.1:$UPSTREAM_PORT), allowed CN: good-client"
expect_contains "banner names a public route" "$banner" "route /open -> upstream demo"
expect_contains "banner says public" "$banner" "), public"
expect_contains "banner counts non-CN rules" "$banner" "allowed: 2 rules (issuer, o, ou)"
expect_contains "banner describes request mode" "$banner" \
  "clients without a certificate complete the TLS handshake"

# Workers 2 -> 3 -> 2: the second reload is back at the running count.
sed -i 's/^workers = 2$/workers = 3/' "$CONF"
kill -HUP "$GATEWAY_PID"
sleep 1
sed -i 's/^workers = 3$/workers = 2/' "$CONF"
kill -HUP "$GATEWAY_PID"
sleep 1
reloads=$(grep "config.reloaded" "$WORK/banner.log")
expect_contains "first reload reports the workers change" "$(head -1 <<<"$reloads")" \
  "workers 2->3 (takes effect after a restart)"
if [[ $(sed -n 2p <<<"$reloads") == *workers* ]]; then
  fail "second reload still reports workers: $(sed -n 2p <<<"$reloads")"
else
  pass "reload back to the running workers reports no change"
fi
finish
