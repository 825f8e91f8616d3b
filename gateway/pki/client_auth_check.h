// The check behind "certgate pki show --ca": would a TLS server that trusts a
// given CA bundle accept a certificate for client authentication, and if
// not, why.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <openssl/x509.h>

namespace gw::pki {

// ClientAuthVerdict is the result of verifyForClientAuth.
struct ClientAuthVerdict {
  bool accepted = false;
  int verifyError = 0;  // X509_V_OK when accepted.
  std::string reason;   // Empty when accepted.
};

// verifyForClientAuth checks whether a TLS server trusting exactly the
// certificates in |trusted| would accept |leaf| as a client certificate at
// time |now|: chain building with |untrusted| as intermediates, signatures,
// validity, CA constraints and the clientAuth purpose (extended key usage and
// key usage). When |crls| is not empty, the leaf's revocation status is
// checked against them too, and a missing CRL for its issuer is a failure.
// The reason names the category first ("expired", "unknown CA", "wrong
// purpose", "revoked", ...) and ends with BoringSSL's verify error. All
// pointers are borrowed.
ClientAuthVerdict verifyForClientAuth(X509* leaf, const std::vector<X509*>& untrusted,
                                      const std::vector<X509*>& trusted,
                                      const std::vector<X509_CRL*>& crls, int64_t now);

}  // namespace gw::pki
