#include "gateway/tls/peer_identity.h"

#include <arpa/inet.h>
#include <cstdio>
#include <ctime>
#include <vector>

#include <openssl/base64.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/digest.h>
#include <openssl/mem.h>
#include <openssl/x509v3.h>

#include "gateway/common/ascii.h"

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
  // BoringSSL prints lowercase; the header and logs use uppercase.
  for (char& c : out) {
    c = static_cast<char>(c >= 'a' && c <= 'f' ? c - 32 : c);
  }
  return out;
}

std::string utf8Of(ASN1_STRING* data) {
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) {
    return {};
  }
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

std::vector<std::string> attributeValues(X509_NAME* name, int nid) {
  std::vector<std::string> out;
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, nid, i)) {
    out.push_back(utf8Of(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i))));
  }
  return out;
}

std::string ipText(const ASN1_OCTET_STRING* ip) {
  char text[INET6_ADDRSTRLEN] = "";
  int len = ASN1_STRING_length(ip);
  const unsigned char* data = ASN1_STRING_get0_data(ip);
  if (len == 4) {
    inet_ntop(AF_INET, data, text, sizeof(text));
  } else if (len == 16) {
    inet_ntop(AF_INET6, data, text, sizeof(text));
  }
  return text;
}

// readSubjectAltNames copies the SAN entries. Values with an embedded NUL
// are dropped, because C code further down could read a shorter name.
void readSubjectAltNames(X509* cert, policy::Identity* identity) {
  bssl::UniquePtr<GENERAL_NAMES> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) {
    return;
  }
  for (size_t i = 0; i < sk_GENERAL_NAME_num(names.get()); i++) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    std::string value;
    std::vector<std::string>* list = nullptr;
    switch (name->type) {
      case GEN_DNS:
        value = ascii::toLower(utf8Of(name->d.dNSName));
        list = &identity->dns;
        break;
      case GEN_URI:
        value = utf8Of(name->d.uniformResourceIdentifier);
        list = &identity->uri;
        break;
      case GEN_EMAIL:
        value = ascii::toLower(utf8Of(name->d.rfc822Name));
        list = &identity->email;
        break;
      case GEN_IPADD:
        value = ipText(name->d.iPAddress);
        list = &identity->ip;
        break;
      default:
        break;
    }
    if (list != nullptr && !value.empty() && value.find('\0') == std::string::npos) {
      list->push_back(std::move(value));
    }
  }
}

}  // namespace

std::string timeText(const ASN1_TIME* time) {
  int64_t seconds = 0;
  if (!posixTimeOf(time, &seconds)) {
    return {};
  }
  time_t posix = static_cast<time_t>(seconds);
  struct tm parsed;
  gmtime_r(&posix, &parsed);
  char text[32];
  strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &parsed);
  return text;
}

bool posixTimeOf(const ASN1_TIME* time, int64_t* out) {
  bssl::UniquePtr<ASN1_TIME> epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0;
  int seconds = 0;
  if (!epoch || time == nullptr || !ASN1_TIME_diff(&days, &seconds, epoch.get(), time)) {
    return false;
  }
  *out = static_cast<int64_t>(days) * 86400 + seconds;
  return true;
}

std::string base64Der(X509* cert) {
  uint8_t* der = nullptr;
  int len = i2d_X509(cert, &der);
  if (len <= 0) {
    return {};
  }
  std::string out = base64Der(der, static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string base64Der(const uint8_t* der, size_t len) {
  size_t encoded_len = 0;
  if (!EVP_EncodedLength(&encoded_len, len)) {
    return {};
  }
  std::string out(encoded_len, '\0');
  size_t written = EVP_EncodeBlock(reinterpret_cast<uint8_t*>(out.data()), der, len);
  out.resize(written);
  return out;
}

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
  identity.o = attributeValues(subject, NID_organizationName);
  identity.ou = attributeValues(subject, NID_organizationalUnitName);
  readSubjectAltNames(cert, &identity);
  identity.not_after = timeText(X509_get0_notAfter(cert));
  identity.subject = nameToString(subject);
  identity.issuer = nameToString(X509_get_issuer_name(cert));
  identity.serial_hex = serialOf(cert);
  identity.fingerprint_sha256 = fingerprintOf(cert);
  return identity;
}

}  // namespace gw::tls
