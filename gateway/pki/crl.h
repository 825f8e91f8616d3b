// Certificate revocation lists built from the CA record.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <openssl/x509.h>

#include "gateway/common/result.h"
#include "gateway/pki/ca_record.h"

namespace gw::pki {

// CrlRequest is the content of one CRL besides its revoked entries.
struct CrlRequest {
  uint64_t crlNumber = 0;
  int64_t thisUpdate = 0;  // Seconds since the Unix epoch.
  int64_t nextUpdate = 0;  // Seconds since the Unix epoch.
};

// buildCrl returns a v2 CRL signed by |issuerKey| for |issuer|, listing every
// revoked entry of |entries| with its revocation date and, unless the reason
// is unspecified, a reasonCode extension (RFC 5280, section 5.3.1, recommends to
// omit the code rather than write unspecified). The CRL carries the
// cRLNumber |request.crlNumber| and an authorityKeyIdentifier. The caller
// owns the CRL; |issuer| and |issuerKey| stay borrowed.
Result<bssl::UniquePtr<X509_CRL>> buildCrl(const X509* issuer, EVP_PKEY* issuerKey,
                                           const std::vector<RecordEntry>& entries,
                                           const CrlRequest& request);

// encodeCrlPem returns |crl| as a PEM block ("BEGIN X509 CRL").
Result<std::string> encodeCrlPem(const X509_CRL* crl);

}  // namespace gw::pki
