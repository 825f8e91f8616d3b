// The certificate description that "certgate pki show" prints.
#pragma once

#include <cstdint>
#include <string>

#include <openssl/x509.h>

#include "gateway/common/result.h"

namespace gw::pki {

// describeCertificate returns "label: value" lines for |certificate|:
// subject and issuer (RFC 4514), serial (hex), validity (RFC 3339, with
// whether |now| lies inside it), public key type, SHA-256 fingerprint (colon
// hex), subjectAltNames, key usage, extended key usage, CA flag and
// signature algorithm. Values taken from the certificate are escaped so they
// cannot inject terminal control sequences.
Result<std::string> describeCertificate(const X509* certificate, int64_t now);

}  // namespace gw::pki
