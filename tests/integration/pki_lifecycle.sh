#!/usr/bin/env bash
# Checks the CA lifecycle commands end to end against OpenSSL and NSS.
# Covered: init (root and intermediate), client and server certificates with
# SANs, and three-level chain verification. Then revoke and crl, with the CRL
# signature, reason codes and -crl_check rejecting the revoked certificate.
# Both PKCS#12 formats must be read by "openssl pkcs12" and imported by NSS
# pk12util. Last come "show" output and verdicts, the errors for a missing CA
# directory and a mismatched CA key, and --help of every subcommand.
set -u

: "${CERTGATE_BIN:?CERTGATE_BIN must point to the certgate binary}"
for tool in openssl pk12util certutil; do
  if ! command -v "$tool" >/dev/null; then
    echo "FAIL: $tool not found; install openssl and libnss3-tools (scripts/install-deps.sh)" >&2
    exit 1
  fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect_success DESCRIPTION COMMAND...: the command must exit 0; its output
# is left in $output.
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
    fail "$1: '$3' not found in: $2"
  fi
}

pki() { "$CERTGATE_BIN" pki "$@"; }

# --- init --------------------------------------------------------------------
expect_success "init" pki init --dir ca --cn "Lifecycle Root CA" --days 3650
expect_text "init output" "$output" "wrote ca/chain.crt"
for key in ca/root.key ca/intermediate.key; do
  [[ $(stat -c %a "$key") == 600 ]] || fail "$key mode is $(stat -c %a "$key"), expected 600"
done
[[ $(stat -c %a ca) == 700 ]] || fail "CA directory mode is $(stat -c %a ca), expected 700"
chain_subjects=$(openssl crl2pkcs7 -nocrl -certfile ca/chain.crt | openssl pkcs7 -print_certs -noout)
[[ $chain_subjects == *"subject=CN = Lifecycle Intermediate CA"*"subject=CN = Lifecycle Root CA"* ]] ||
  fail "chain.crt is not intermediate then root: $chain_subjects"
intermediate_text=$(openssl x509 -in ca/intermediate.crt -noout -text)
expect_text "intermediate pathlen" "$intermediate_text" "CA:TRUE, pathlen:0"
expect_text "intermediate keyUsage" "$intermediate_text" "Certificate Sign, CRL Sign"
expect_text "record header" "$(cat ca/index.txt)" "# status"
expect_failure_with "init rejects existing CA" "already exists; pass --force" pki init --dir ca

# --- issue -------------------------------------------------------------------
expect_success "issue client" pki issue --dir ca --cn alice --ou ops --client \
  --san uri:spiffe://example.test/alice --san email:alice@example.test --out out/alice
expect_text "issue output" "$output" "wrote out/alice.key"
expect_success "issue second client" pki issue --dir ca --cn carol --client --out out/carol
expect_success "issue server" pki issue --dir ca --cn api.example.test --server \
  --san dns:api.example.test --san ip:127.0.0.1 --san ip:::1 --key rsa-2048 --out out/api
expect_success "issue with explicit times" pki issue --dir ca --cn timed --client \
  --not-before 2026-01-02T03:04:05Z --not-after 2027-01-02T03:04:05Z --key ed25519 --out out/timed
[[ $(stat -c %a out/alice.key) == 600 ]] || fail "out/alice.key mode is $(stat -c %a out/alice.key)"

expect_success "alice verifies through intermediate" \
  openssl verify -purpose sslclient -CAfile ca/root.crt -untrusted ca/intermediate.crt out/alice.crt
expect_success "server verifies through intermediate" \
  openssl verify -purpose sslserver -CAfile ca/root.crt -untrusted ca/intermediate.crt out/api.crt
expect_failure_with "alice without intermediate" "unable to get local issuer certificate" \
  openssl verify -purpose sslclient -CAfile ca/root.crt out/alice.crt
alice_text=$(openssl x509 -in out/alice.crt -noout -text)
expect_text "alice SANs" "$alice_text" "URI:spiffe://example.test/alice"
expect_text "alice email SAN" "$alice_text" "email:alice@example.test"
expect_text "alice EKU" "$alice_text" "TLS Web Client Authentication"
expect_text "alice subject" "$alice_text" "Subject: OU = ops, CN = alice"
api_text=$(openssl x509 -in out/api.crt -noout -text)
expect_text "server SANs" "$api_text" "DNS:api.example.test, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"
expect_text "server RSA keyUsage" "$api_text" "Digital Signature, Key Encipherment"
expect_text "server key" "$api_text" "Public-Key: (2048 bit)"
timed_dates=$(openssl x509 -in out/timed.crt -noout -dates)
expect_text "explicit notBefore" "$timed_dates" "notBefore=Jan  2 03:04:05 2026 GMT"
expect_text "explicit notAfter" "$timed_dates" "notAfter=Jan  2 03:04:05 2027 GMT"
[[ $(grep -c 'BEGIN CERTIFICATE' out/api.crt) == 2 ]] || fail "out/api.crt should hold leaf and intermediate"

expect_failure_with "issue rejects existing key" "out/alice.key already exists; pass --force" \
  pki issue --dir ca --cn alice --client --out out/alice
expect_failure_with "control character in CN" "invalid --cn: control character U+0009" \
  pki issue --dir ca --cn $'bad\tname' --client --out out/bad
expect_failure_with "invalid SAN" "invalid --san 'dns:bad name'" \
  pki issue --dir ca --cn x --client --san "dns:bad name" --out out/bad
expect_failure_with "invalid time" "expected UTC in RFC 3339 form" \
  pki issue --dir ca --cn x --client --not-before 2026-01-02 --not-after 2027-01-02T00:00:00Z --out out/bad
expect_failure_with "leaf outliving CA" "after the issuing CA's notAfter" \
  pki issue --dir ca --cn x --client --days 36500 --out out/bad
[[ ! -e out/bad.key ]] || fail "a rejected issue left out/bad.key behind"

# --- a CA without intermediate ---------------------------------------------------
expect_success "init without intermediate" pki init --dir other --cn "Other Root CA" --no-intermediate
[[ ! -e other/intermediate.crt ]] || fail "--no-intermediate wrote other/intermediate.crt"
expect_success "issue from root" pki issue --dir other --cn erin --client --out out/erin
expect_success "erin verifies against root" \
  openssl verify -purpose sslclient -CAfile other/root.crt out/erin.crt
expect_failure_with "erin rejected by the first CA" "unable to get local issuer certificate" \
  openssl verify -purpose sslclient -CAfile ca/root.crt out/erin.crt

# --- errors about the CA directory -------------------------------------------
expect_failure_with "missing CA directory" "CA directory nowhere not found; create one with" \
  pki issue --dir nowhere --cn x --client --out out/x
cp -a ca broken
cp broken/root.key broken/intermediate.key
expect_failure_with "mismatched CA key" "broken/intermediate.key does not match broken/intermediate.crt" \
  pki issue --dir broken --cn x --client --out out/x
mkdir offline && mv ca/root.key offline/
expect_success "issue with root key offline" pki issue --dir ca --cn dave --client --out out/dave
mv offline/root.key ca/

# --- revoke and CRL ------------------------------------------------------------
expect_success "revoke alice" pki revoke --dir ca --cert out/alice.crt --reason keyCompromise
expect_text "revoke output" "$output" "reason keyCompromise"
alice_serial=$(openssl x509 -in out/alice.crt -noout -serial | cut -d= -f2)
grep -q "^R	$alice_serial	.*	keyCompromise	CN=alice,OU=ops\$" ca/index.txt ||
  fail "index.txt has no revoked line for $alice_serial: $(cat ca/index.txt)"
expect_failure_with "revoke twice" "already revoked" pki revoke --dir ca --cert out/alice.crt
dave_serial=$(openssl x509 -in out/dave.crt -noout -serial | cut -d= -f2)
expect_success "revoke by serial" pki revoke --dir ca --serial "$dave_serial" --reason superseded
expect_failure_with "revoke foreign certificate" "was not issued by the CA in ca" \
  pki revoke --dir ca --cert ca/root.crt

expect_success "crl" pki crl --dir ca --days 7
expect_text "crl output" "$output" "CRL number 1, 2 revoked"
crl_text=$(openssl crl -in ca/crl.pem -noout -text)
expect_text "CRL issuer" "$crl_text" "Issuer: CN = Lifecycle Intermediate CA"
expect_text "CRL number" "$crl_text" "X509v3 CRL Number"
expect_text "CRL reason keyCompromise" "$crl_text" "Key Compromise"
expect_text "CRL reason superseded" "$crl_text" "Superseded"
expect_text "CRL lists alice" "$crl_text" "Serial Number: $alice_serial"
crl_verify=$(openssl crl -in ca/crl.pem -verify -CAfile ca/chain.crt -noout 2>&1)
expect_text "CRL signature" "$crl_verify" "verify OK"
expect_failure_with "revoked alice rejected" "certificate revoked" \
  openssl verify -crl_check -purpose sslclient -CAfile ca/root.crt -untrusted ca/intermediate.crt \
  -CRLfile ca/crl.pem out/alice.crt
expect_success "carol passes CRL check" \
  openssl verify -crl_check -purpose sslclient -CAfile ca/root.crt -untrusted ca/intermediate.crt \
  -CRLfile ca/crl.pem out/carol.crt
expect_success "second crl" pki crl --dir ca --out "$tmp/crl2.pem"
expect_text "crl number increments" "$output" "CRL number 2"

# --- export --------------------------------------------------------------------
expect_success "export modern" pki export --cert out/carol.crt --key out/carol.key \
  --chain ca/chain.crt --out out/carol.p12
modern_password=$(sed -n 's/^password (shown once, stored nowhere): //p' <<<"$output")
[[ ${#modern_password} == 24 ]] || fail "generated password not printed: $output"
[[ $(stat -c %a out/carol.p12) == 600 ]] || fail "out/carol.p12 mode is $(stat -c %a out/carol.p12)"
modern_info=$(openssl pkcs12 -info -noout -in out/carol.p12 -passin "pass:$modern_password" 2>&1) ||
  fail "openssl cannot read the modern PKCS#12: $modern_info"
expect_text "modern MAC" "$modern_info" "MAC: sha256"
expect_text "modern encryption" "$modern_info" "PBES2, PBKDF2, AES-256-CBC"
expect_text "modern PRF" "$modern_info" "hmacWithSHA256"
printf 'legacy pässword\n' >pw.txt
expect_success "export legacy" pki export --cert out/carol.crt --key out/carol.key \
  --chain ca/chain.crt --out out/carol-legacy.p12 --legacy --password-file pw.txt --name "Carol (legacy)"
legacy_info=$(openssl pkcs12 -legacy -info -noout -in out/carol-legacy.p12 -passin file:pw.txt 2>&1) ||
  fail "openssl cannot read the legacy PKCS#12: $legacy_info"
expect_text "legacy MAC" "$legacy_info" "MAC: sha1"
expect_text "legacy encryption" "$legacy_info" "pbeWithSHA1And3-KeyTripleDES-CBC"
certs_info=$(openssl pkcs12 -nokeys -in out/carol.p12 -passin "pass:$modern_password" 2>&1)
expect_text "modern friendlyName" "$certs_info" "friendlyName: carol"
expect_text "modern chain" "$certs_info" "subject=CN = Lifecycle Root CA"
expect_failure_with "export rejects existing file" "already exists; pass --force" \
  pki export --cert out/carol.crt --key out/carol.key --out out/carol.p12
expect_failure_with "export key mismatch" "is not the private key" \
  pki export --cert out/carol.crt --key out/alice.key --out out/mismatch.p12

# Each file goes into its own NSS database, because NSS keeps the nickname of
# the first import of a certificate.
for db in nss-modern nss-legacy; do
  mkdir "$tmp/$db"
  certutil -N --empty-password -d "sql:$tmp/$db" >/dev/null 2>&1 || fail "certutil -N -d $db failed"
done
expect_success "NSS imports modern" pk12util -i out/carol.p12 -d "sql:$tmp/nss-modern" -W "$modern_password"
expect_success "NSS imports legacy" pk12util -i out/carol-legacy.p12 -d "sql:$tmp/nss-legacy" -w pw.txt
nss_certs=$(certutil -L -d "sql:$tmp/nss-modern")
expect_text "NSS user certificate" "$nss_certs" "carol"
expect_text "NSS CA certificate" "$nss_certs" "Lifecycle Root CA"
expect_text "NSS private key" "$(certutil -K -d "sql:$tmp/nss-modern" 2>&1)" "ec"
expect_text "NSS legacy nickname" "$(certutil -L -d "sql:$tmp/nss-legacy")" "Carol (legacy)"
expect_text "NSS legacy private key" "$(certutil -K -d "sql:$tmp/nss-legacy" 2>&1)" "Carol (legacy)"

# --- show ----------------------------------------------------------------------
expect_success "show" pki show out/api.crt
for field in "subject:             CN=api.example.test" "issuer:              CN=Lifecycle Intermediate CA" \
  "public key:          RSA 2048" "SHA-256 fingerprint: " "extended key usage:  serverAuth" \
  "subject alt names:   DNS:api.example.test, IP:127.0.0.1, IP:::1" "CA:                  no"; do
  expect_text "show field" "$output" "$field"
done
fingerprint=$(openssl x509 -in out/api.crt -noout -fingerprint -sha256 | cut -d= -f2)
expect_text "show fingerprint" "$output" "$fingerprint"
api_serial=$(openssl x509 -in out/api.crt -noout -serial | cut -d= -f2)
expect_text "show serial" "$output" "serial:              $api_serial"
expect_success "show accepts carol" pki show out/carol.crt --ca ca/chain.crt
expect_text "show verdict" "$output" "client auth with ca/chain.crt: accepted"
expect_failure_with "show rejects server" "rejected: wrong purpose" pki show out/api.crt --ca ca/chain.crt
expect_failure_with "show rejects revoked" "rejected: revoked" \
  pki show out/alice.crt --ca ca/chain.crt --crl ca/crl.pem
expect_failure_with "show rejects unknown CA" "rejected: unknown CA" pki show out/carol.crt --ca other/root.crt

# --- help ----------------------------------------------------------------------
expect_success "pki --help" pki --help
for sub in demo init issue revoke crl export show; do
  expect_text "pki --help lists $sub" "$output" "  $sub"
done
for sub in demo init issue revoke crl export show; do
  if ! help=$(pki "$sub" --help 2>&1); then
    fail "pki $sub --help failed"
  fi
  expect_text "pki $sub --help" "$help" "Usage: certgate pki $sub"
done
expect_text "issue help lists --san" "$(pki issue --help)" "--san TYPE:VALUE"
expect_text "issue help gives the default" "$(pki issue --help)" "(default: 365)"
pki issue --bogus >/dev/null 2>&1
[[ $? == 2 ]] || fail "an unknown option should exit 2"

if ((failures > 0)); then
  echo "pki_lifecycle: $failures check(s) failed" >&2
  exit 1
fi
echo "pki_lifecycle: all checks passed"
