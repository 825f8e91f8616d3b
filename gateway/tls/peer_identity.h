// Identity extraction from X.509 certificates, for the policy and for logs.
// Names are read from parsed ASN.1 attributes, never by re-parsing a printed
// distinguished name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <openssl/x509.h>

#include "gateway/policy/policy.h"

namespace gw::tls {

// identityOf fills an Identity from |cert|: the CN (and whether there is
// more than one), subject and issuer as RFC 4514 strings, serial in
// uppercase hex and the SHA-256 fingerprint of the DER encoding in lowercase
// hex.
policy::Identity identityOf(X509* cert);

// base64Der returns the DER encoding of |cert| in base64, or "" on failure.
std::string base64Der(X509* cert);

// base64Der returns the |len| bytes at |der| in base64.
std::string base64Der(const uint8_t* der, size_t len);

// posixTimeOf converts |time| to seconds since the POSIX epoch. It returns
// false when |time| is null or malformed.
bool posixTimeOf(const ASN1_TIME* time, int64_t* out);

// timeText formats |time| as RFC 3339 UTC ("2026-01-31T12:00:00Z"), or
// returns "" when |time| is null or malformed.
std::string timeText(const ASN1_TIME* time);

// nameToString formats |name| as an RFC 4514 string ("CN=good-client,O=Demo").
std::string nameToString(X509_NAME* name);

}  // namespace gw::tls
