#include "gateway/pki/certificate.h"

#include <cctype>
#include <climits>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "gateway/pki/boringssl_error.h"
#include "gateway/pki/certificate_extensions.h"
#include "gateway/pki/key.h"
#include "gateway/pki/name.h"

namespace gw::pki {
namespace {

Status setSerial(X509* certificate) {
  Result<bssl::UniquePtr<BIGNUM>> serial = generateSerial();
  if (!serial.ok()) {
    return Error{serial.error()};
  }
  bssl::UniquePtr<ASN1_INTEGER> encoded(BN_to_ASN1_INTEGER(serial->get(), nullptr));
  if (!encoded || !X509_set_serialNumber(certificate, encoded.get())) {
    return boringSslError("cannot set the serial number");
  }
  return okStatus();
}

Status setValidity(X509* certificate, const Validity& validity) {
  if (validity.notAfter <= validity.notBefore) {
    return Error{"invalid validity period: notAfter must be after notBefore"};
  }
  bssl::UniquePtr<ASN1_TIME> notBefore(ASN1_TIME_set(nullptr, validity.notBefore));
  bssl::UniquePtr<ASN1_TIME> notAfter(ASN1_TIME_set(nullptr, validity.notAfter));
  if (!notBefore || !notAfter || !X509_set1_notBefore(certificate, notBefore.get()) ||
      !X509_set1_notAfter(certificate, notAfter.get())) {
    return boringSslError("cannot encode the validity period");
  }
  return okStatus();
}

Status setNames(X509* certificate, const CertificateRequest& request, const X509* issuer) {
  Result<bssl::UniquePtr<X509_NAME>> subject =
      buildSubjectName(request.commonName, request.organizationalUnit);
  if (!subject.ok()) {
    return Error{subject.error()};
  }
  X509_NAME* issuerName = issuer ? X509_get_subject_name(issuer) : subject->get();
  if (!X509_set_subject_name(certificate, subject->get()) ||
      !X509_set_issuer_name(certificate, issuerName)) {
    return boringSslError("cannot set the subject and issuer names");
  }
  return okStatus();
}

}  // namespace

Result<bssl::UniquePtr<BIGNUM>> generateSerial() {
  uint8_t bytes[16];
  RAND_bytes(bytes, sizeof(bytes));
  bytes[0] |= 0x80;
  bssl::UniquePtr<BIGNUM> serial(BN_bin2bn(bytes, sizeof(bytes), nullptr));
  if (!serial) {
    return boringSslError("cannot allocate a serial number");
  }
  return serial;
}

Result<bssl::UniquePtr<X509>> issueCertificate(const CertificateRequest& request,
                                               EVP_PKEY* subjectKey, const Issuer& issuer) {
  bssl::UniquePtr<X509> certificate(X509_new());
  if (!certificate || !X509_set_version(certificate.get(), X509_VERSION_3) ||
      !X509_set_pubkey(certificate.get(), subjectKey)) {
    return boringSslError("cannot start a certificate");
  }
  Status status = setSerial(certificate.get());
  if (status.ok()) {
    status = setValidity(certificate.get(), request.validity);
  }
  if (status.ok()) {
    status = setNames(certificate.get(), request, issuer.certificate);
  }
  if (status.ok()) {
    status = addProfileExtensions(certificate.get(), request, issuer.certificate);
  }
  if (!status.ok()) {
    return Error{"cannot build the certificate for '" + request.commonName +
                 "': " + status.error()};
  }
  if (!X509_sign(certificate.get(), issuer.key, signatureDigestFor(issuer.key))) {
    return boringSslError("cannot sign the certificate for '" + request.commonName + "'");
  }
  return certificate;
}

Result<std::string> encodeCertificatePem(const X509* certificate) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  // PEM_write_bio_X509 does not modify the certificate despite its signature.
  if (!bio || !PEM_write_bio_X509(bio.get(), const_cast<X509*>(certificate))) {
    return boringSslError("cannot encode a certificate as PEM");
  }
  const uint8_t* data = nullptr;
  size_t length = 0;
  BIO_mem_contents(bio.get(), &data, &length);
  return std::string(reinterpret_cast<const char*>(data), length);
}

Status writeCertificateFile(const std::string& path, const std::vector<const X509*>& certificates,
                            Overwrite overwrite) {
  std::string pem;
  for (const X509* certificate : certificates) {
    Result<std::string> block = encodeCertificatePem(certificate);
    if (!block.ok()) {
      return Error{block.error()};
    }
    pem += *block;
  }
  return writeFile(path, pem, FileMode::Public, overwrite);
}

Result<std::vector<bssl::UniquePtr<X509>>> parseCertificatesPem(std::string_view pem,
                                                                std::string_view source) {
  if (pem.size() > INT_MAX) {
    return Error{std::string(source) + " is too large to be a PEM file"};
  }
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<bssl::UniquePtr<X509>> certificates;
  while (bio) {
    bssl::UniquePtr<X509> certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!certificate) {
      break;
    }
    certificates.push_back(std::move(certificate));
  }
  // Running out of PEM blocks ends the loop with PEM_R_NO_START_LINE; any
  // other error means a block was malformed.
  uint32_t error = ERR_peek_last_error();
  bool endOfInput =
      ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE;
  if (error != 0 && !endOfInput) {
    return boringSslError("cannot parse a certificate in " + std::string(source));
  }
  ERR_clear_error();
  if (certificates.empty()) {
    return Error{"no PEM certificate found in " + std::string(source)};
  }
  return certificates;
}

Result<std::vector<bssl::UniquePtr<X509>>> readCertificatesFile(const std::string& path) {
  Result<std::string> pem = readFile(path);
  if (!pem.ok()) {
    return Error{pem.error()};
  }
  return parseCertificatesPem(*pem, path);
}

std::string serialHexOf(const X509* certificate) {
  bssl::UniquePtr<BIGNUM> serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), nullptr));
  char* hex = serial ? BN_bn2hex(serial.get()) : nullptr;
  if (hex == nullptr) {
    takeBoringSslReason();
    return "(invalid serial)";
  }
  std::string text(hex);
  OPENSSL_free(hex);
  for (char& c : text) {
    c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  }
  // BN_bn2hex writes whole bytes, so a value like 0x0F comes out as "0f".
  size_t firstNonZero = text.find_first_not_of('0');
  if (firstNonZero == std::string::npos) {
    return "0";
  }
  return text.substr(firstNonZero);
}

Result<int64_t> asn1TimeToUnix(const ASN1_TIME* time) {
  bssl::UniquePtr<ASN1_TIME> epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0;
  int seconds = 0;
  if (!epoch || !ASN1_TIME_diff(&days, &seconds, epoch.get(), time)) {
    return boringSslError("cannot decode a certificate time");
  }
  return static_cast<int64_t>(days) * 86400 + seconds;
}

bool certificateMatchesKey(const X509* certificate, const EVP_PKEY* key) {
  // X509_get_pubkey only caches the decoded key in |certificate|.
  bssl::UniquePtr<EVP_PKEY> publicKey(X509_get_pubkey(const_cast<X509*>(certificate)));
  bool matches = publicKey && EVP_PKEY_cmp(publicKey.get(), key) == 1;
  ERR_clear_error();
  return matches;
}

}  // namespace gw::pki
