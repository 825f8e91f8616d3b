# shellcheck shell=bash
# Certificates for bench/run: `certgate pki demo` when it produces the
# expected ECDSA P-256 files, else the same set made with the openssl CLI.
# Sourced by bench/run. Every function writes into the directory it is given.

# Files every server configuration refers to.
pki_files=(ca.crt server.crt server.key client_good.crt client_good.key client_second.crt
  client_second.key)

# Prints the public key type of a certificate, for example "id-ecPublicKey prime256v1".
pki_key_type() {
  openssl x509 -in "$1" -noout -text |
    awk '/Public Key Algorithm/ {alg=$NF} /ASN1 OID/ {curve=$NF} END {print alg, curve}'
}

# Prints the subject CN of a certificate.
pki_subject_cn() {
  openssl x509 -in "$1" -noout -subject -nameopt multiline | awk -F' = ' '/commonName/ {print $2}'
}

# Checks that DIR contains every file, with P-256 keys and the expected client CNs.
pki_usable() {
  local dir=$1 file
  for file in "${pki_files[@]}"; do
    [[ -s $dir/$file ]] || return 1
  done
  [[ $(pki_key_type "$dir/server.crt") == "id-ecPublicKey prime256v1" ]] || return 1
  [[ $(pki_key_type "$dir/client_good.crt") == "id-ecPublicKey prime256v1" ]] || return 1
  [[ $(pki_subject_cn "$dir/client_good.crt") == good-client ]] || return 1
  [[ $(pki_subject_cn "$dir/client_second.crt") != good-client ]] || return 1
}

# Issues DIR/NAME.crt and NAME.key for SUBJECT, signed by DIR/ca.crt, with
# the extensions in EXTFILE.
pki_issue() {
  local dir=$1 name=$2 subject=$3 extfile=$4
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/$name.key"
  openssl req -new -key "$dir/$name.key" -subj "$subject" -out "$dir/$name.csr"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 30 -sha256 -extfile "$extfile" -out "$dir/$name.crt" 2>/dev/null
}

# Writes a CA, a server certificate for localhost, 127.0.0.1 and ::1, and
# two client certificates (CN good-client and CN second-client), all ECDSA P-256.
pki_make_with_openssl() {
  local dir=$1
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key"
  openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 30 -subj "/CN=certgate bench CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$dir/ca.crt"
  printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
    "extendedKeyUsage=serverAuth" "keyUsage=critical,digitalSignature" \
    "basicConstraints=CA:FALSE" >"$dir/server.ext"
  printf '%s\n' "extendedKeyUsage=clientAuth" "keyUsage=critical,digitalSignature" \
    "basicConstraints=CA:FALSE" >"$dir/client.ext"
  pki_issue "$dir" server "/CN=localhost" "$dir/server.ext"
  pki_issue "$dir" client_good "/CN=good-client" "$dir/client.ext"
  pki_issue "$dir" client_second "/CN=second-client" "$dir/client.ext"
}

# Fills DIR with the certificate set and prints where it came from.
pki_prepare() {
  local dir=$1 certgate=$2
  mkdir -p "$dir"
  if "$certgate" pki demo --out "$dir" >/dev/null 2>&1 && pki_usable "$dir"; then
    echo "certgate pki demo"
    return
  fi
  rm -rf "$dir" && mkdir -p "$dir"
  pki_make_with_openssl "$dir" >/dev/null
  pki_usable "$dir" || {
    echo "bench: the openssl-made certificates in $dir are unusable" >&2
    return 1
  }
  echo "openssl CLI (certgate pki demo was unavailable or did not make ECDSA P-256 keys)"
}
