#include "gateway/tls/peer_identity.h"

#include <cstdio>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/digest.h>
#include <openssl/mem.h>

namespace gw::tls {
namespace {

std::string toHex(const uint8_t* data, size_t len) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (size_t i = 0; i < len; i++) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0x0f];
  }
  return out;
}

std::string fingerprintOf(X509* cert) {
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (!X509_digest(cert, EVP_sha256(), digest, &len)) {
    return {};
  }
  return toHex(digest, len);
}

std::string serialOf(X509* cert) {
  bssl::UniquePtr<BIGNUM> bn(ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr));
  if (!bn) {
    return {};
  }
  char* hex = BN_bn2hex(bn.get());
  std::string out = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  return out;
}

}  // namespace

std::string nameToString(X509_NAME* name) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  // RFC 2253 order and escaping, with UTF-8 kept as UTF-8 so that
  // non-ASCII names stay readable; callers escape for their output.
  unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
  if (X509_NAME_print_ex(bio.get(), name, 0, flags) < 0) {
    return {};
  }
  const uint8_t* contents = nullptr;
  size_t len = 0;
  BIO_mem_contents(bio.get(), &contents, &len);
  return std::string(reinterpret_cast<const char*>(contents), len);
}

policy::Identity identityOf(X509* cert) {
  policy::Identity identity;
  X509_NAME* subject = X509_get_subject_name(cert);
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index >= 0) {
    if (X509_NAME_get_index_by_NID(subject, NID_commonName, index) >= 0) {
      identity.cn_ambiguous = true;
    } else {
      ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
      unsigned char* utf8 = nullptr;
      int len = ASN1_STRING_to_UTF8(&utf8, data);
      if (len >= 0) {
        identity.cn.assign(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
        OPENSSL_free(utf8);
        // A CN with an embedded NUL could compare equal to a shorter name
        // in C code downstream; treat it as unusable.
        if (identity.cn.find('\0') != std::string::npos) {
          identity.cn.clear();
          identity.cn_ambiguous = true;
        }
      }
    }
  }
  identity.subject = nameToString(subject);
  identity.issuer = nameToString(X509_get_issuer_name(cert));
  identity.serial_hex = serialOf(cert);
  identity.fingerprint_sha256 = fingerprintOf(cert);
  return identity;
}

}  // namespace gw::tls
