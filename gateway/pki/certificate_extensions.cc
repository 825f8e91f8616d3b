#include "gateway/pki/certificate_extensions.h"

#include <openssl/obj.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "gateway/pki/boringssl_error.h"

namespace gw::pki {
namespace {

// Bit positions of the KeyUsage BIT STRING (RFC 5280, section 4.2.1.3).
constexpr int kDigitalSignatureBit = 0;
constexpr int kKeyEnciphermentBit = 2;
constexpr int kKeyCertSignBit = 5;
constexpr int kCrlSignBit = 6;

bool isCa(CertificateProfile profile) {
  return profile == CertificateProfile::RootCa || profile == CertificateProfile::IntermediateCa;
}

// addExtension DER-encodes |value| as the extension |nid| and adds it.
// |value| stays owned by the caller.
Status addExtension(X509* certificate, int nid, void* value, bool critical) {
  if (!X509_add1_ext_i2d(certificate, nid, value, critical ? 1 : 0, X509V3_ADD_DEFAULT)) {
    return boringSslError(std::string("cannot add the ") + OBJ_nid2sn(nid) + " extension");
  }
  return okStatus();
}

Status addBasicConstraints(X509* certificate, CertificateProfile profile) {
  bssl::UniquePtr<BASIC_CONSTRAINTS> constraints(BASIC_CONSTRAINTS_new());
  if (!constraints) {
    return boringSslError("cannot allocate basicConstraints");
  }
  constraints->ca = isCa(profile) ? 0xff : 0;
  if (profile == CertificateProfile::IntermediateCa) {
    // pathLenConstraint 0: the intermediate may sign leaves but no other CA.
    constraints->pathlen = ASN1_INTEGER_new();
    if (constraints->pathlen == nullptr || !ASN1_INTEGER_set(constraints->pathlen, 0)) {
      return boringSslError("cannot encode pathLenConstraint");
    }
  }
  return addExtension(certificate, NID_basic_constraints, constraints.get(), true);
}

Status addKeyUsage(X509* certificate, CertificateProfile profile) {
  bssl::UniquePtr<ASN1_BIT_STRING> usage(ASN1_BIT_STRING_new());
  if (!usage) {
    return boringSslError("cannot allocate keyUsage");
  }
  bool ok = true;
  if (isCa(profile)) {
    ok = ASN1_BIT_STRING_set_bit(usage.get(), kKeyCertSignBit, 1) &&
         ASN1_BIT_STRING_set_bit(usage.get(), kCrlSignBit, 1);
  } else {
    ok = ASN1_BIT_STRING_set_bit(usage.get(), kDigitalSignatureBit, 1);
    bssl::UniquePtr<EVP_PKEY> key(X509_get_pubkey(certificate));
    bool rsa = key && EVP_PKEY_id(key.get()) == EVP_PKEY_RSA;
    if (ok && profile == CertificateProfile::Server && rsa) {
      ok = ASN1_BIT_STRING_set_bit(usage.get(), kKeyEnciphermentBit, 1);
    }
  }
  if (!ok) {
    return boringSslError("cannot encode keyUsage");
  }
  return addExtension(certificate, NID_key_usage, usage.get(), true);
}

Status addExtendedKeyUsage(X509* certificate, CertificateProfile profile) {
  bssl::UniquePtr<EXTENDED_KEY_USAGE> usage(sk_ASN1_OBJECT_new_null());
  int purpose = profile == CertificateProfile::Server ? NID_server_auth : NID_client_auth;
  // OBJ_nid2obj returns a static object, so the stack does not own it.
  if (!usage || !sk_ASN1_OBJECT_push(usage.get(), OBJ_nid2obj(purpose))) {
    return boringSslError("cannot encode extendedKeyUsage");
  }
  return addExtension(certificate, NID_ext_key_usage, usage.get(), false);
}

Result<bssl::UniquePtr<ASN1_OCTET_STRING>> newOctetString(const std::string& bytes) {
  bssl::UniquePtr<ASN1_OCTET_STRING> string(ASN1_OCTET_STRING_new());
  if (!string ||
      !ASN1_OCTET_STRING_set(string.get(), reinterpret_cast<const uint8_t*>(bytes.data()),
                             static_cast<int>(bytes.size()))) {
    return boringSslError("cannot encode a key identifier");
  }
  return string;
}

Status addSubjectKeyIdentifier(X509* certificate) {
  Result<std::string> identifier = keyIdentifierOf(certificate);
  if (!identifier.ok()) {
    return Error{identifier.error()};
  }
  Result<bssl::UniquePtr<ASN1_OCTET_STRING>> value = newOctetString(*identifier);
  if (!value.ok()) {
    return Error{value.error()};
  }
  return addExtension(certificate, NID_subject_key_identifier, value->get(), false);
}

Status addAuthorityKeyIdentifier(X509* certificate, const X509* issuer) {
  Result<bssl::UniquePtr<AUTHORITY_KEYID>> authority = buildAuthorityKeyId(issuer);
  if (!authority.ok()) {
    return Error{authority.error()};
  }
  return addExtension(certificate, NID_authority_key_identifier, authority->get(), false);
}

Status addSubjectAltNames(X509* certificate, const std::vector<SubjectAltName>& names) {
  Result<bssl::UniquePtr<GENERAL_NAMES>> generalNames = buildGeneralNames(names);
  if (!generalNames.ok()) {
    return Error{generalNames.error()};
  }
  return addExtension(certificate, NID_subject_alt_name, generalNames->get(), false);
}

}  // namespace

Result<std::string> keyIdentifierOf(const X509* certificate) {
  bssl::UniquePtr<ASN1_OCTET_STRING> existing(static_cast<ASN1_OCTET_STRING*>(
      X509_get_ext_d2i(certificate, NID_subject_key_identifier, nullptr, nullptr)));
  if (existing) {
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(existing.get())),
                       static_cast<size_t>(ASN1_STRING_length(existing.get())));
  }
  const ASN1_BIT_STRING* publicKey = X509_get0_pubkey_bitstr(certificate);
  if (publicKey == nullptr) {
    return Error{"cannot compute a key identifier: the certificate has no public key"};
  }
  uint8_t digest[SHA_DIGEST_LENGTH];
  SHA1(ASN1_STRING_get0_data(publicKey), static_cast<size_t>(ASN1_STRING_length(publicKey)),
       digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

Result<bssl::UniquePtr<AUTHORITY_KEYID>> buildAuthorityKeyId(const X509* issuer) {
  Result<std::string> identifier = keyIdentifierOf(issuer);
  if (!identifier.ok()) {
    return Error{identifier.error()};
  }
  bssl::UniquePtr<AUTHORITY_KEYID> authority(AUTHORITY_KEYID_new());
  Result<bssl::UniquePtr<ASN1_OCTET_STRING>> value = newOctetString(*identifier);
  if (!authority || !value.ok()) {
    return boringSslError("cannot encode authorityKeyIdentifier");
  }
  // The AUTHORITY_KEYID owns the key identifier from here on.
  authority->keyid = value->release();
  return authority;
}

Status addProfileExtensions(X509* certificate, const CertificateRequest& request,
                            const X509* issuer) {
  CertificateProfile profile = request.profile;
  Status status = addBasicConstraints(certificate, profile);
  if (status.ok()) {
    status = addKeyUsage(certificate, profile);
  }
  if (status.ok() && !isCa(profile)) {
    status = addExtendedKeyUsage(certificate, profile);
  }
  if (status.ok()) {
    status = addSubjectKeyIdentifier(certificate);
  }
  if (status.ok() && issuer != nullptr) {
    status = addAuthorityKeyIdentifier(certificate, issuer);
  }
  if (status.ok() && !request.subjectAltNames.empty()) {
    status = addSubjectAltNames(certificate, request.subjectAltNames);
  }
  return status;
}

}  // namespace gw::pki
