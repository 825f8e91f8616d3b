// PKCS#12 (RFC 7292) bundles of a private key, its certificate and the CA
// chain, for import into browsers, operating system key stores and NSS.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "gateway/common/result.h"

namespace gw::pki {

// Pkcs12Format selects the encryption of a PKCS#12 file.
//
//   Modern  PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC for the key and the
//           certificates, HMAC-SHA256 integrity MAC. Written by our own
//           encoder (pkcs12_modern.cc) because BoringSSL's PKCS12_create
//           only offers the PKCS#12 PBES1 schemes.
//   Legacy  pbeWithSHAAnd3-KeyTripleDES-CBC for the key and the
//           certificates, HMAC-SHA1 MAC, via PKCS12_create. For importers
//           that do not understand PBES2 (see docs/pki.md).
enum class Pkcs12Format { Modern, Legacy };

// Pkcs12Contents is what goes into a bundle. All pointers are borrowed.
struct Pkcs12Contents {
  EVP_PKEY* key = nullptr;
  X509* certificate = nullptr;
  std::vector<X509*> chain;  // CA certificates, issuer first.
  std::string friendlyName;  // UTF-8; the name importers show. May be empty.
};

// kPkcs12Iterations is the PBKDF2 and MAC iteration count of the modern
// format. Stretching protects a password that a user chose; a generated
// password (generatePkcs12Password) is strong enough without it.
inline constexpr uint32_t kPkcs12Iterations = 100000;

// encodePkcs12 returns the DER encoding of a PKCS#12 file protecting
// |contents| with |password|. The key and the leaf certificate share a
// localKeyId (the SHA-1 hash of the certificate) and the friendlyName, which
// is how importers pair them. It fails if the key does not match the
// certificate, the password is invalid (see validatePkcs12Password) or the
// friendly name has characters outside the Basic Multilingual Plane.
Result<std::string> encodePkcs12(const Pkcs12Contents& contents, std::string_view password,
                                 Pkcs12Format format);

// validatePkcs12Password fails if |password| is empty, is not valid UTF-8,
// contains a NUL byte or a character outside the Basic Multilingual Plane
// (PKCS#12 encodes the password as a BMPString for the MAC).
Status validatePkcs12Password(std::string_view password);

// generatePkcs12Password returns 24 characters drawn uniformly from 57
// letters and digits that are hard to confuse (no 0, O, 1, l, I), about 140
// bits of entropy from the system CSPRNG.
std::string generatePkcs12Password();

}  // namespace gw::pki
