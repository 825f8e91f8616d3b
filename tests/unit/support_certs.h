// Certificate helpers for TLS tests: EC P-256 keys and X.509 certificates
// built in memory with BoringSSL, and PEM encodings to write to files.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/obj.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace gw::testing {

// NameEntry is one attribute of a distinguished name, for example
// {"CN", "good-client"}. |type| is MBSTRING_UTF8 or an ASN.1 string type
// such as V_ASN1_BMPSTRING, in which case |value| contains the raw encoding.
struct NameEntry {
  std::string field;
  std::string value;
  int type = MBSTRING_UTF8;
};

// CertSpec describes a certificate to build. The subject entries are added
// in order, so {O, CN} gives the DN printed as "CN=...,O=..." in RFC 4514.
struct CertSpec {
  std::vector<NameEntry> subject;
  std::string serial_hex = "01";
  long not_before_s = -3600;  // seconds from now
  long not_after_s = 86400;   // seconds from now
  bool is_ca = false;
  std::string extended_key_usage;  // "clientAuth", "serverAuth" or empty for none
};

// KeyPair is a certificate and its private key.
struct KeyPair {
  bssl::UniquePtr<X509> cert;
  bssl::UniquePtr<EVP_PKEY> key;
};

// check throws when a BoringSSL call named |function| failed.
inline void check(bool ok, const char* function) {
  if (!ok) {
    throw std::runtime_error(std::string(function) + " failed");
  }
}

// newKey generates an EC P-256 key.
inline bssl::UniquePtr<EVP_PKEY> newKey() {
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  check(ec != nullptr, "EC_KEY_new_by_curve_name");
  check(EC_KEY_generate_key(ec.get()) == 1, "EC_KEY_generate_key");
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  check(key != nullptr, "EVP_PKEY_new");
  check(EVP_PKEY_assign_EC_KEY(key.get(), ec.release()) == 1, "EVP_PKEY_assign_EC_KEY");
  return key;
}

inline void addExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  bssl::UniquePtr<X509_EXTENSION> extension(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  check(extension != nullptr, "X509V3_EXT_nconf_nid");
  check(X509_add_ext(cert, extension.get(), -1) == 1, "X509_add_ext");
}

// makeCert builds the certificate |spec| describes for |key|, signed with
// SHA-256 by |issuer|, or self-signed when |issuer| is null.
inline bssl::UniquePtr<X509> makeCert(const CertSpec& spec, EVP_PKEY* key,
                                      const KeyPair* issuer = nullptr) {
  bssl::UniquePtr<X509> cert(X509_new());
  check(cert != nullptr, "X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3) == 1, "X509_set_version");

  BIGNUM* serial_bn = nullptr;
  check(BN_hex2bn(&serial_bn, spec.serial_hex.c_str()) > 0, "BN_hex2bn");
  bssl::UniquePtr<BIGNUM> serial(serial_bn);
  check(BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) != nullptr,
        "BN_to_ASN1_INTEGER");

  check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.not_before_s) != nullptr,
        "X509_gmtime_adj");
  check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.not_after_s) != nullptr,
        "X509_gmtime_adj");

  X509_NAME* subject = X509_get_subject_name(cert.get());
  for (const NameEntry& entry : spec.subject) {
    check(X509_NAME_add_entry_by_txt(subject, entry.field.c_str(), entry.type,
                                     reinterpret_cast<const uint8_t*>(entry.value.data()),
                                     static_cast<int>(entry.value.size()), -1, 0) == 1,
          "X509_NAME_add_entry_by_txt");
  }
  X509_NAME* issuer_name = issuer != nullptr ? X509_get_subject_name(issuer->cert.get()) : subject;
  check(X509_set_issuer_name(cert.get(), issuer_name) == 1, "X509_set_issuer_name");
  check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");

  X509* issuer_cert = issuer != nullptr ? issuer->cert.get() : cert.get();
  if (spec.is_ca) {
    addExtension(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    addExtension(cert.get(), issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    addExtension(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
  }
  if (!spec.extended_key_usage.empty()) {
    addExtension(cert.get(), issuer_cert, NID_ext_key_usage, spec.extended_key_usage.c_str());
  }

  EVP_PKEY* signing_key = issuer != nullptr ? issuer->key.get() : key;
  check(X509_sign(cert.get(), signing_key, EVP_sha256()) > 0, "X509_sign");
  return cert;
}

// makeKeyPair generates a key and builds the certificate |spec| describes.
inline KeyPair makeKeyPair(const CertSpec& spec, const KeyPair* issuer = nullptr) {
  KeyPair pair;
  pair.key = newKey();
  pair.cert = makeCert(spec, pair.key.get(), issuer);
  return pair;
}

// makeCa builds a self-signed CA named "CN=|cn|,O=Demo".
inline KeyPair makeCa(const std::string& cn) {
  CertSpec spec;
  spec.subject = {{"O", "Demo"}, {"CN", cn}};
  spec.is_ca = true;
  return makeKeyPair(spec);
}

// makeCrl builds a CRL from |issuer|, valid from an hour ago until a day from now,
// that revokes every certificate in |revoked|.
inline bssl::UniquePtr<X509_CRL> makeCrl(const KeyPair& issuer, const std::vector<X509*>& revoked) {
  bssl::UniquePtr<X509_CRL> crl(X509_CRL_new());
  check(crl != nullptr, "X509_CRL_new");
  check(X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) == 1, "X509_CRL_set_version");
  check(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.cert.get())) == 1,
        "X509_CRL_set_issuer_name");
  bssl::UniquePtr<ASN1_TIME> last_update(X509_gmtime_adj(nullptr, -3600));
  bssl::UniquePtr<ASN1_TIME> next_update(X509_gmtime_adj(nullptr, 86400));
  check(last_update != nullptr && next_update != nullptr, "X509_gmtime_adj");
  check(X509_CRL_set1_lastUpdate(crl.get(), last_update.get()) == 1, "X509_CRL_set1_lastUpdate");
  check(X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) == 1, "X509_CRL_set1_nextUpdate");
  for (X509* cert : revoked) {
    bssl::UniquePtr<X509_REVOKED> entry(X509_REVOKED_new());
    check(entry != nullptr, "X509_REVOKED_new");
    check(X509_REVOKED_set_serialNumber(entry.get(), X509_get_serialNumber(cert)) == 1,
          "X509_REVOKED_set_serialNumber");
    check(X509_REVOKED_set_revocationDate(entry.get(), last_update.get()) == 1,
          "X509_REVOKED_set_revocationDate");
    check(X509_CRL_add0_revoked(crl.get(), entry.get()) == 1, "X509_CRL_add0_revoked");
    entry.release();  // now owned by crl
  }
  check(X509_CRL_sort(crl.get()) == 1, "X509_CRL_sort");
  check(X509_CRL_sign(crl.get(), issuer.key.get(), EVP_sha256()) > 0, "X509_CRL_sign");
  return crl;
}

inline std::string memoryContents(BIO* bio) {
  const uint8_t* contents = nullptr;
  size_t len = 0;
  check(BIO_mem_contents(bio, &contents, &len) == 1, "BIO_mem_contents");
  return std::string(reinterpret_cast<const char*>(contents), len);
}

inline std::string certPem(X509* cert) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
  return memoryContents(bio.get());
}

inline std::string crlPem(X509_CRL* crl) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_X509_CRL(bio.get(), crl) == 1, "PEM_write_bio_X509_CRL");
  return memoryContents(bio.get());
}

inline std::string keyPem(EVP_PKEY* key) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  return memoryContents(bio.get());
}

}  // namespace gw::testing
