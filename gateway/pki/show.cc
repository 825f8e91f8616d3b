#include "gateway/pki/show.h"

#include <cstdio>

#include <openssl/digest.h>
#include <openssl/err.h>
#include <openssl/obj.h>
#include <openssl/x509v3.h>

#include "gateway/pki/boringssl_error.h"
#include "gateway/pki/certificate.h"
#include "gateway/pki/key.h"
#include "gateway/pki/name.h"
#include "gateway/pki/rfc3339.h"
#include "gateway/pki/subject_alt_name.h"

namespace gw::pki {
namespace {

std::string colonHex(const uint8_t* bytes, size_t length) {
  std::string text;
  for (size_t i = 0; i < length; i++) {
    char pair[4];
    snprintf(pair, sizeof(pair), i == 0 ? "%02X" : ":%02X", bytes[i]);
    text += pair;
  }
  return text;
}

std::string formatKeyUsage(X509* certificate) {
  struct Usage {
    uint32_t flag;
    const char* name;
  };
  static constexpr Usage kUsages[] = {
      {KU_DIGITAL_SIGNATURE, "digitalSignature"},
      {KU_NON_REPUDIATION, "nonRepudiation"},
      {KU_KEY_ENCIPHERMENT, "keyEncipherment"},
      {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
      {KU_KEY_AGREEMENT, "keyAgreement"},
      {KU_KEY_CERT_SIGN, "keyCertSign"},
      {KU_CRL_SIGN, "cRLSign"},
      {KU_ENCIPHER_ONLY, "encipherOnly"},
      {KU_DECIPHER_ONLY, "decipherOnly"},
  };
  uint32_t usage = X509_get_key_usage(certificate);
  if (usage == UINT32_MAX) {
    return "(extension absent: any)";
  }
  std::string text;
  for (const Usage& entry : kUsages) {
    if (usage & entry.flag) {
      text += text.empty() ? "" : ", ";
      text += entry.name;
    }
  }
  return text.empty() ? "(none)" : text;
}

std::string formatExtendedKeyUsage(const X509* certificate) {
  bssl::UniquePtr<EXTENDED_KEY_USAGE> usage(static_cast<EXTENDED_KEY_USAGE*>(
      X509_get_ext_d2i(certificate, NID_ext_key_usage, nullptr, nullptr)));
  if (!usage) {
    ERR_clear_error();
    return "(extension absent: any)";
  }
  std::string text;
  for (size_t i = 0; i < sk_ASN1_OBJECT_num(usage.get()); i++) {
    char oid[128];
    const ASN1_OBJECT* object = sk_ASN1_OBJECT_value(usage.get(), i);
    int nid = OBJ_obj2nid(object);
    text += text.empty() ? "" : ", ";
    if (nid != NID_undef) {
      text += OBJ_nid2sn(nid);
    } else if (OBJ_obj2txt(oid, sizeof(oid), object, 1) > 0) {
      text += oid;
    }
  }
  return text;
}

std::string formatBasicConstraints(X509* certificate) {
  if (X509_check_ca(certificate) == 0) {
    return "no";
  }
  long pathLength = X509_get_pathlen(certificate);
  return pathLength >= 0 ? "yes, path length " + std::to_string(pathLength) : "yes";
}

std::string formatValidityState(int64_t notBefore, int64_t notAfter, int64_t now) {
  if (now < notBefore) {
    return "not yet valid";
  }
  if (now > notAfter) {
    return "expired";
  }
  return "valid now";
}

std::string signatureAlgorithmOf(const X509* certificate) {
  int nid = X509_get_signature_nid(certificate);
  return nid == NID_undef ? "unknown" : OBJ_nid2ln(nid);
}

}  // namespace

Result<std::string> describeCertificate(const X509* certificate, int64_t now) {
  // Several BoringSSL getters take a non-const X509 because they cache the
  // decoded extensions; none of them changes the certificate's content.
  X509* mutableCertificate = const_cast<X509*>(certificate);
  Result<int64_t> notBefore = asn1TimeToUnix(X509_get0_notBefore(certificate));
  Result<int64_t> notAfter = asn1TimeToUnix(X509_get0_notAfter(certificate));
  bssl::UniquePtr<EVP_PKEY> publicKey(X509_get_pubkey(mutableCertificate));
  uint8_t fingerprint[EVP_MAX_MD_SIZE];
  unsigned fingerprintLen = 0;
  if (!notBefore.ok() || !notAfter.ok() || !publicKey ||
      !X509_digest(certificate, EVP_sha256(), fingerprint, &fingerprintLen)) {
    return boringSslError("cannot decode the certificate");
  }
  std::string sans = formatSubjectAltNames(certificate);
  std::string text;
  text += "subject:             " + formatNameRfc4514(X509_get_subject_name(certificate)) + "\n";
  text += "issuer:              " + formatNameRfc4514(X509_get_issuer_name(certificate)) + "\n";
  text += "serial:              " + serialHexOf(certificate) + "\n";
  text += "not before:          " + formatRfc3339Utc(*notBefore) + "\n";
  text += "not after:           " + formatRfc3339Utc(*notAfter) + "\n";
  text += "validity:            " + formatValidityState(*notBefore, *notAfter, now) + "\n";
  text += "public key:          " + describePublicKey(publicKey.get()) + "\n";
  text += "SHA-256 fingerprint: " + colonHex(fingerprint, fingerprintLen) + "\n";
  text += "subject alt names:   " + (sans.empty() ? "(none)" : sans) + "\n";
  text += "key usage:           " + formatKeyUsage(mutableCertificate) + "\n";
  text += "extended key usage:  " + formatExtendedKeyUsage(certificate) + "\n";
  text += "CA:                  " + formatBasicConstraints(mutableCertificate) + "\n";
  text += "signature algorithm: " + signatureAlgorithmOf(certificate) + "\n";
  return text;
}

}  // namespace gw::pki
