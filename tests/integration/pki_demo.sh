#!/usr/bin/env bash
# Checks that "certgate pki demo" writes a demo PKI that OpenSSL judges the
# way the gateway's scenarios expect. The good and second clients verify, and
# the expired client fails as expired. The foreign client verifies only
# against its own CA, and the server certificate is valid for TLS servers.
# Also checks file modes, the rejection of a second run, --force, and the
# PKCS#12 files.
set -u

: "${CERTGATE_BIN:?CERTGATE_BIN must point to the certgate binary}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out="$tmp/certs"
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect_success DESCRIPTION COMMAND...: the command must exit 0.
expect_success() {
  local description=$1
  shift
  if ! output=$("$@" 2>&1); then
    fail "$description: '$*' failed: $output"
  fi
}

# expect_failure_with DESCRIPTION TEXT COMMAND...: the command must exit
# non-zero and print TEXT.
expect_failure_with() {
  local description=$1 text=$2
  shift 2
  if output=$("$@" 2>&1); then
    fail "$description: '$*' succeeded but should fail"
  elif [[ $output != *"$text"* ]]; then
    fail "$description: expected '$text' in: $output"
  fi
}

# expect_text DESCRIPTION HAYSTACK NEEDLE
expect_text() {
  if [[ $2 != *"$3"* ]]; then
    fail "$1: '$3' not found"
  fi
}

if ! demo_output=$("$CERTGATE_BIN" pki demo --out "$out" 2>&1); then
  echo "FAIL: certgate pki demo --out $out failed: $demo_output" >&2
  exit 1
fi
expect_text "demo output" "$demo_output" "wrote $out/ca.key"
expect_text "demo output" "$demo_output" "wrote $out/client_second.p12"
expect_text "demo output" "$demo_output" "password of the demo .p12 files: demo"
[[ $(grep -c '^wrote ' <<<"$demo_output") == 16 ]] || fail "demo output: expected 16 'wrote' lines"

cd "$out" || exit 1

# Chain verification with OpenSSL.
expect_success "good client verifies" openssl verify -purpose sslclient -CAfile ca.crt client_good.crt
expect_success "second client verifies" openssl verify -purpose sslclient -CAfile ca.crt client_second.crt
expect_failure_with "expired client fails" "certificate has expired" \
  openssl verify -purpose sslclient -CAfile ca.crt client_expired.crt
expect_failure_with "foreign client fails against demo CA" "unable to get local issuer certificate" \
  openssl verify -purpose sslclient -CAfile ca.crt client_foreign.crt
expect_success "foreign client verifies against its CA" \
  openssl verify -purpose sslclient -CAfile foreign_ca.crt client_foreign.crt
expect_success "server verifies for sslserver" openssl verify -purpose sslserver -CAfile ca.crt server.crt
expect_failure_with "client is no server" "unsuitable certificate purpose" \
  openssl verify -purpose sslserver -CAfile ca.crt client_good.crt

# Certificate content.
ca_text=$(openssl x509 -in ca.crt -noout -text)
expect_text "CA subject" "$ca_text" "Subject: CN = Demo Root CA"
expect_text "CA basicConstraints" "$ca_text" "CA:TRUE"
expect_text "CA keyUsage" "$ca_text" "Certificate Sign, CRL Sign"
expect_text "CA subjectKeyIdentifier" "$ca_text" "X509v3 Subject Key Identifier"
expect_text "CA version" "$ca_text" "Version: 3 (0x2)"
server_text=$(openssl x509 -in server.crt -noout -text)
expect_text "server SANs" "$server_text" "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"
expect_text "server EKU" "$server_text" "TLS Web Server Authentication"
expect_text "server keyUsage" "$server_text" "Digital Signature"
expect_text "server authorityKeyIdentifier" "$server_text" "X509v3 Authority Key Identifier"
expect_text "server signature" "$server_text" "ecdsa-with-SHA256"
for client in client_good client_second client_expired client_foreign; do
  expect_text "$client EKU" "$(openssl x509 -in $client.crt -noout -text)" "TLS Web Client Authentication"
done
expect_text "foreign issuer" "$(openssl x509 -in client_foreign.crt -noout -issuer)" "CN = Foreign Root CA"
expect_text "expired subject" "$(openssl x509 -in client_expired.crt -noout -subject)" "CN = expired-client"
serial=$(openssl x509 -in client_good.crt -noout -serial | cut -d= -f2)
[[ ${#serial} == 32 && $serial == [89A-F]* ]] || fail "serial $serial is not a 128-bit positive number"

# File modes.
[[ $(stat -c %a "$out") == 700 ]] || fail "output directory mode is $(stat -c %a "$out"), expected 700"
for key in *.key *.p12; do
  [[ $(stat -c %a "$key") == 600 ]] || fail "$key mode is $(stat -c %a "$key"), expected 600"
done

# PKCS#12 files.
for p12 in client_good.p12 client_second.p12; do
  info=$(openssl pkcs12 -info -nokeys -passin pass:demo -in "$p12" 2>&1) || fail "openssl cannot read $p12: $info"
  expect_text "$p12 CA certificate" "$info" "subject=CN = Demo Root CA"
done

# A second run is rejected without --force and replaces everything with it.
key_before=$(cat ca.key)
expect_failure_with "second run is rejected" \
  "certgate pki demo: $out/ca.crt already exists; pass --force to replace the whole demo PKI" \
  "$CERTGATE_BIN" pki demo --out "$out"
"$CERTGATE_BIN" pki demo --out "$out" >/dev/null 2>&1
[[ $? == 1 ]] || fail "second run without --force should exit 1"
[[ $(cat ca.key) == "$key_before" ]] || fail "rejected run changed ca.key"
expect_success "run with --force" "$CERTGATE_BIN" pki demo --out "$out" --force
[[ $(cat ca.key) != "$key_before" ]] || fail "--force did not replace ca.key"
[[ $(stat -c %a ca.key) == 600 ]] || fail "ca.key mode after --force is $(stat -c %a ca.key)"
expect_success "good client verifies after --force" \
  openssl verify -purpose sslclient -CAfile ca.crt client_good.crt

# Default directory is certs/ under the current directory.
mkdir "$tmp/cwd" && cd "$tmp/cwd" || exit 1
expect_success "demo with default directory" "$CERTGATE_BIN" pki demo
[[ -f certs/ca.crt ]] || fail "default --out did not write certs/ca.crt"

# show --config checks against the gateway's own [tls] client_ca.
sed -e "s#\.\./certs#$tmp/cwd/certs#" "${CERTGATE_SOURCE_DIR:-.}/conf/gateway.toml" >"$tmp/gateway.toml"
cp "${CERTGATE_SOURCE_DIR:-.}/conf/policy.toml" "$tmp/policy.toml"
output=$("$CERTGATE_BIN" pki show certs/client_good.crt --config "$tmp/gateway.toml")
[[ $output == *"client auth with $tmp/cwd/certs/ca.crt: accepted"* ]] ||
  fail "show --config did not accept client_good: $output"
if output=$("$CERTGATE_BIN" pki show certs/client_foreign.crt --config "$tmp/gateway.toml"); then
  fail "show --config accepted client_foreign"
fi
[[ $output == *"rejected: unknown CA"* ]] || fail "show --config gave no reason: $output"

if ((failures > 0)); then
  echo "pki_demo: $failures check(s) failed" >&2
  exit 1
fi
echo "pki_demo: all checks passed"
