// Identity extraction from X.509 certificates, for the policy and for logs.
// Names are read from parsed ASN.1 attributes, never by re-parsing a printed
// distinguished name.
#pragma once

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

// nameToString formats |name| as an RFC 4514 string ("CN=good-client,O=Demo").
std::string nameToString(X509_NAME* name);

}  // namespace gw::tls
