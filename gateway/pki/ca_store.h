// The CA directory that "certgate pki init" creates and the other lifecycle
// commands (issue, revoke, crl) work on.
//
// Layout:
//   root.crt, root.key                  self-signed root CA
//   intermediate.crt, intermediate.key  CA signed by the root with
//                                       pathLenConstraint 0; absent with
//                                       --no-intermediate
//   chain.crt                           intermediate then root: the bundle the
//                                       gateway loads as client CA
//   index.txt                           the CA record (see ca_record.h)
//   crlnumber                           cRLNumber of the last CRL, decimal
//
// The issuing CA is the intermediate when there is one, otherwise the root.
// Only the issuing CA's key is read after init, so with an intermediate the
// root key can be moved offline.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "gateway/common/result.h"
#include "gateway/pki/ca_record.h"
#include "gateway/pki/certificate.h"
#include "gateway/pki/file_io.h"

namespace gw::pki {

inline constexpr std::string_view kRootCertFile = "root.crt";
inline constexpr std::string_view kRootKeyFile = "root.key";
inline constexpr std::string_view kIntermediateCertFile = "intermediate.crt";
inline constexpr std::string_view kIntermediateKeyFile = "intermediate.key";
inline constexpr std::string_view kChainFile = "chain.crt";
inline constexpr std::string_view kRecordFile = "index.txt";
inline constexpr std::string_view kCrlNumberFile = "crlnumber";
inline constexpr std::string_view kDefaultCrlFile = "crl.pem";

// CaInitOptions configures initCa.
struct CaInitOptions {
  std::string directory;
  std::string commonName = "certgate Root CA";
  std::string intermediateCommonName;  // Empty: defaultIntermediateName(commonName).
  bool withIntermediate = true;
  int days = 3650;  // Validity of the root and the intermediate.
  bool force = false;
};

// defaultIntermediateName returns |rootName| with a trailing " Root CA"
// replaced by " Intermediate CA", or |rootName| + " Intermediate CA".
std::string defaultIntermediateName(std::string_view rootName);

// initCa creates a CA directory as described at the top of this file, with
// EC P-256 keys, notBefore kClockSkewSeconds before |now|, and an empty
// record. The directory is created with mode 0700 if missing. Without
// |force| it fails if any CA file already exists; with |force| it replaces
// them and removes files of the old CA that the new one would not write.
// Returns the paths written, in order.
Result<std::vector<std::string>> initCa(const CaInitOptions& options, int64_t now);

// CrlOutput is a signed CRL in PEM form.
struct CrlOutput {
  std::string pem;
  uint64_t crlNumber = 0;
  size_t numRevoked = 0;
};

// CaStore is an opened CA directory. It keeps an exclusive lock (flock) on
// the directory while it exists, so concurrent commands on the same CA
// serialize instead of losing record updates.
class CaStore {
 public:
  // open loads the CA in |directory| and locks it. It fails when the
  // directory or a file is missing or cannot be parsed, when the issuing key
  // does not match its certificate, or when the root did not sign the
  // intermediate. Each message names the file and the fix. It waits up to 10
  // seconds for another certgate process to release the lock.
  static Result<CaStore> open(const std::string& directory);

  CaStore(CaStore&&) = default;
  CaStore& operator=(CaStore&&) = default;

  const std::string& directory() const { return directory_; }
  bool hasIntermediate() const { return intermediate_ != nullptr; }

  // signingCertificate returns the issuing CA certificate, owned by the store.
  const X509* signingCertificate() const;

  // intermediates returns the CA certificates a leaf should present above
  // itself (the intermediate, if any), owned by the store.
  std::vector<const X509*> intermediates() const;

  // issue signs a certificate for |subjectKey| with the issuing CA and adds
  // it to the record before returning it. It fails if notAfter is later than
  // the issuing CA's notAfter. The caller owns the certificate.
  Result<bssl::UniquePtr<X509>> issue(const CertificateRequest& request, EVP_PKEY* subjectKey);

  // checkIssuedHere fails unless |certificate| names the issuing CA as its
  // issuer and carries a valid signature from it. |source| names the
  // certificate in the message.
  Status checkIssuedHere(const X509* certificate, std::string_view source) const;

  // revoke marks the certificate with serial |serialHex| (any form that
  // normalizeSerialHex accepts) as revoked at |now| and saves the record.
  // It fails if the serial is not in the record or is already revoked.
  Result<RecordEntry> revoke(std::string_view serialHex, RevocationReason reason, int64_t now);

  // createCrl signs a CRL of every revoked certificate in the record, valid
  // from |thisUpdate| to |nextUpdate|, with the next cRLNumber, which it
  // saves before returning.
  Result<CrlOutput> createCrl(int64_t thisUpdate, int64_t nextUpdate);

 private:
  CaStore() = default;

  Status loadCertificates();
  Status loadSigningKey();
  Status loadRecord();
  Status saveRecord();
  std::string pathOf(std::string_view name) const;

  std::string directory_;
  UniqueFd lock_;
  bssl::UniquePtr<X509> root_;
  bssl::UniquePtr<X509> intermediate_;  // Null with --no-intermediate.
  bssl::UniquePtr<EVP_PKEY> signingKey_;
  std::vector<RecordEntry> record_;
};

}  // namespace gw::pki
