#include "gateway/pki/crl.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "gateway/pki/boringssl_error.h"
#include "gateway/pki/certificate_extensions.h"
#include "gateway/pki/key.h"

namespace gw::pki {
namespace {

Result<bssl::UniquePtr<ASN1_INTEGER>> serialFromHex(const std::string& hex) {
  BIGNUM* parsed = nullptr;
  if (BN_hex2bn(&parsed, hex.c_str()) == 0) {
    return boringSslError("invalid serial '" + hex + "' in the CA record");
  }
  bssl::UniquePtr<BIGNUM> serial(parsed);
  bssl::UniquePtr<ASN1_INTEGER> encoded(BN_to_ASN1_INTEGER(serial.get(), nullptr));
  if (!encoded) {
    return boringSslError("cannot encode serial " + hex);
  }
  return encoded;
}

Status addRevokedEntry(X509_CRL* crl, const RecordEntry& entry) {
  Result<bssl::UniquePtr<ASN1_INTEGER>> serial = serialFromHex(entry.serialHex);
  if (!serial.ok()) {
    return Error{serial.error()};
  }
  bssl::UniquePtr<X509_REVOKED> revoked(X509_REVOKED_new());
  bssl::UniquePtr<ASN1_TIME> revokedAt(ASN1_TIME_set(nullptr, entry.revokedAt));
  if (!revoked || !revokedAt || !X509_REVOKED_set_serialNumber(revoked.get(), serial->get()) ||
      !X509_REVOKED_set_revocationDate(revoked.get(), revokedAt.get())) {
    return boringSslError("cannot encode the revoked entry " + entry.serialHex);
  }
  if (entry.reason != RevocationReason::Unspecified) {
    bssl::UniquePtr<ASN1_ENUMERATED> reason(ASN1_ENUMERATED_new());
    if (!reason || !ASN1_ENUMERATED_set(reason.get(), static_cast<long>(entry.reason)) ||
        !X509_REVOKED_add1_ext_i2d(revoked.get(), NID_crl_reason, reason.get(), 0,
                                   X509V3_ADD_DEFAULT)) {
      return boringSslError("cannot encode the reason code of " + entry.serialHex);
    }
  }
  if (!X509_CRL_add0_revoked(crl, revoked.get())) {
    return boringSslError("cannot add the revoked entry " + entry.serialHex);
  }
  // X509_CRL_add0_revoked took ownership of |revoked|.
  revoked.release();
  return okStatus();
}

Status setHeader(X509_CRL* crl, const X509* issuer, const CrlRequest& request) {
  bssl::UniquePtr<ASN1_TIME> thisUpdate(ASN1_TIME_set(nullptr, request.thisUpdate));
  bssl::UniquePtr<ASN1_TIME> nextUpdate(ASN1_TIME_set(nullptr, request.nextUpdate));
  if (!thisUpdate || !nextUpdate || !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
      !X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) ||
      !X509_CRL_set1_lastUpdate(crl, thisUpdate.get()) ||
      !X509_CRL_set1_nextUpdate(crl, nextUpdate.get())) {
    return boringSslError("cannot encode the CRL header");
  }
  return okStatus();
}

Status addCrlExtensions(X509_CRL* crl, const X509* issuer, uint64_t crlNumber) {
  bssl::UniquePtr<ASN1_INTEGER> number(ASN1_INTEGER_new());
  if (!number || !ASN1_INTEGER_set_uint64(number.get(), crlNumber) ||
      !X509_CRL_add1_ext_i2d(crl, NID_crl_number, number.get(), 0, X509V3_ADD_DEFAULT)) {
    return boringSslError("cannot encode the cRLNumber");
  }
  Result<bssl::UniquePtr<AUTHORITY_KEYID>> authority = buildAuthorityKeyId(issuer);
  if (!authority.ok()) {
    return Error{authority.error()};
  }
  if (!X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, authority->get(), 0,
                             X509V3_ADD_DEFAULT)) {
    return boringSslError("cannot add the CRL authorityKeyIdentifier");
  }
  return okStatus();
}

}  // namespace

Result<bssl::UniquePtr<X509_CRL>> buildCrl(const X509* issuer, EVP_PKEY* issuerKey,
                                           const std::vector<RecordEntry>& entries,
                                           const CrlRequest& request) {
  bssl::UniquePtr<X509_CRL> crl(X509_CRL_new());
  if (!crl) {
    return boringSslError("cannot allocate a CRL");
  }
  Status status = setHeader(crl.get(), issuer, request);
  for (const RecordEntry& entry : entries) {
    if (status.ok() && entry.revoked) {
      status = addRevokedEntry(crl.get(), entry);
    }
  }
  if (status.ok()) {
    status = addCrlExtensions(crl.get(), issuer, request.crlNumber);
  }
  if (!status.ok()) {
    return Error{status.error()};
  }
  if (!X509_CRL_sort(crl.get()) ||
      !X509_CRL_sign(crl.get(), issuerKey, signatureDigestFor(issuerKey))) {
    return boringSslError("cannot sign the CRL");
  }
  return crl;
}

Result<std::string> encodeCrlPem(const X509_CRL* crl) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  // PEM_write_bio_X509_CRL does not modify the CRL despite its signature.
  if (!bio || !PEM_write_bio_X509_CRL(bio.get(), const_cast<X509_CRL*>(crl))) {
    return boringSslError("cannot encode the CRL as PEM");
  }
  const uint8_t* data = nullptr;
  size_t length = 0;
  BIO_mem_contents(bio.get(), &data, &length);
  return std::string(reinterpret_cast<const char*>(data), length);
}

}  // namespace gw::pki
