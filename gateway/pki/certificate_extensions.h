// The X.509 v3 extensions of each CertificateProfile (see certificate.h).
#pragma once

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "gateway/common/result.h"
#include "gateway/pki/certificate.h"

namespace gw::pki {

// addProfileExtensions adds to the unsigned |certificate| the extensions that
// |request.profile| calls for. |certificate| must already carry its public
// key, because the subjectKeyIdentifier is derived from it. |issuer| is the
// issuing CA certificate, or null for a self-signed one; its key identifier
// becomes the authorityKeyIdentifier. Nothing is taken over from the callers.
Status addProfileExtensions(X509* certificate, const CertificateRequest& request,
                            const X509* issuer);

// keyIdentifierOf returns the subjectKeyIdentifier extension of
// |certificate| or, when it has none, the SHA-1 hash of its subjectPublicKey
// BIT STRING (RFC 5280, section 4.2.1.2, method 1).
Result<std::string> keyIdentifierOf(const X509* certificate);

// buildAuthorityKeyId returns an authorityKeyIdentifier holding the
// keyIdentifierOf |issuer|, for certificates and CRLs it signs. The caller
// owns the result.
Result<bssl::UniquePtr<AUTHORITY_KEYID>> buildAuthorityKeyId(const X509* issuer);

}  // namespace gw::pki
