#include "gateway/pki/ca_store.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <optional>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/pki/boringssl_error.h"
#include "gateway/pki/credential.h"
#include "gateway/pki/crl.h"
#include "gateway/pki/key.h"
#include "gateway/pki/name.h"
#include "gateway/pki/rfc3339.h"

namespace gw::pki {
namespace {

constexpr int kLockWaitMilliseconds = 10000;
constexpr int kLockPollMilliseconds = 50;

// lockDirectory takes an exclusive flock on |directory| itself, retrying for
// up to kLockWaitMilliseconds while another process holds it.
Result<UniqueFd> lockDirectory(const std::string& directory) {
  UniqueFd fd(open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    return Error{"cannot open CA directory " + directory + ": " + strerror(errno)};
  }
  for (int waited = 0; waited <= kLockWaitMilliseconds; waited += kLockPollMilliseconds) {
    if (flock(fd.get(), LOCK_EX | LOCK_NB) == 0) {
      return fd;
    }
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return Error{"cannot lock CA directory " + directory + ": " + strerror(errno)};
    }
    timespec pause{0, kLockPollMilliseconds * 1000000L};
    nanosleep(&pause, nullptr);
  }
  return Error{"CA directory " + directory +
               " is locked by another certgate process; try again when it has finished"};
}

Result<bssl::UniquePtr<X509>> readFirstCertificate(const std::string& path) {
  Result<std::vector<bssl::UniquePtr<X509>>> certificates = readCertificatesFile(path);
  if (!certificates.ok()) {
    return Error{certificates.error()};
  }
  return std::move(certificates->front());
}

Validity caValidity(int days, int64_t now) {
  return Validity{now - kClockSkewSeconds, now + static_cast<int64_t>(days) * 86400};
}

Result<Credential> generateCa(CertificateProfile profile, const std::string& commonName,
                              const Validity& validity, const Credential* issuer) {
  CertificateRequest request;
  request.profile = profile;
  request.commonName = commonName;
  request.validity = validity;
  return createCredential(request, KeyType::EcP256, issuer);
}

Status checkNoCaFiles(const std::string& directory) {
  for (std::string_view name : {kRootCertFile, kRootKeyFile, kIntermediateCertFile,
                                kIntermediateKeyFile, kChainFile, kRecordFile}) {
    std::string path = joinPath(directory, name);
    if (pathExists(path)) {
      return Error{path +
                   " already exists; pass --force to replace the whole CA (certificates "
                   "issued by the old CA will no longer verify)"};
    }
  }
  return okStatus();
}

// CaFileWriter writes CA files into one directory and remembers their paths.
class CaFileWriter {
 public:
  CaFileWriter(std::string directory, Overwrite overwrite)
      : directory_(std::move(directory)), overwrite_(overwrite) {}

  Status writeKey(std::string_view name, const EVP_PKEY* key) {
    return remember(name, writePrivateKeyFile(joinPath(directory_, name), key, overwrite_));
  }
  Status writeCertificates(std::string_view name, const std::vector<const X509*>& certificates) {
    return remember(name,
                    writeCertificateFile(joinPath(directory_, name), certificates, overwrite_));
  }
  Status writeText(std::string_view name, std::string_view text) {
    return remember(name,
                    writeFile(joinPath(directory_, name), text, FileMode::Public, overwrite_));
  }
  std::vector<std::string>& written() { return written_; }

 private:
  Status remember(std::string_view name, Status status) {
    if (status.ok()) {
      written_.push_back(joinPath(directory_, name));
    }
    return status;
  }

  std::string directory_;
  Overwrite overwrite_;
  std::vector<std::string> written_;
};

Status writeCa(CaFileWriter& writer, const Credential& root, const Credential* intermediate) {
  Status status = writer.writeKey(kRootKeyFile, root.key.get());
  if (status.ok()) {
    status = writer.writeCertificates(kRootCertFile, {root.certificate.get()});
  }
  std::vector<const X509*> chain = {root.certificate.get()};
  if (status.ok() && intermediate != nullptr) {
    status = writer.writeKey(kIntermediateKeyFile, intermediate->key.get());
    chain.insert(chain.begin(), intermediate->certificate.get());
  }
  if (status.ok() && intermediate != nullptr) {
    status = writer.writeCertificates(kIntermediateCertFile, {intermediate->certificate.get()});
  }
  if (status.ok()) {
    status = writer.writeCertificates(kChainFile, chain);
  }
  if (status.ok()) {
    status = writer.writeText(kRecordFile, formatRecord({}));
  }
  return status;
}

// removeStaleFiles deletes files a previous CA in the same directory left
// that the new CA did not overwrite.
Status removeStaleFiles(const std::string& directory, bool withIntermediate) {
  std::vector<std::string_view> stale = {kCrlNumberFile, kDefaultCrlFile};
  if (!withIntermediate) {
    stale.push_back(kIntermediateCertFile);
    stale.push_back(kIntermediateKeyFile);
  }
  for (std::string_view name : stale) {
    Status status = removeFileIfExists(joinPath(directory, name));
    if (!status.ok()) {
      return status;
    }
  }
  return okStatus();
}

Status validateInitOptions(const CaInitOptions& options, const std::string& intermediateName) {
  Status status = validateNameText("--cn", options.commonName);
  if (status.ok() && options.withIntermediate) {
    status = validateNameText("--intermediate-cn", intermediateName);
  }
  if (status.ok() && options.days <= 0) {
    status = Error{"invalid --days: must be positive"};
  }
  return status;
}

}  // namespace

std::string defaultIntermediateName(std::string_view rootName) {
  constexpr std::string_view kRootSuffix = " Root CA";
  if (rootName.size() > kRootSuffix.size() && rootName.ends_with(kRootSuffix)) {
    rootName.remove_suffix(kRootSuffix.size());
  }
  return std::string(rootName) + " Intermediate CA";
}

Result<std::vector<std::string>> initCa(const CaInitOptions& options, int64_t now) {
  std::string intermediateName = options.intermediateCommonName.empty()
                                     ? defaultIntermediateName(options.commonName)
                                     : options.intermediateCommonName;
  Status status = validateInitOptions(options, intermediateName);
  if (status.ok()) {
    status = createDirectory(options.directory);
  }
  if (!status.ok()) {
    return Error{status.error()};
  }
  Result<UniqueFd> lock = lockDirectory(options.directory);
  if (!lock.ok()) {
    return Error{lock.error()};
  }
  status = options.force ? okStatus() : checkNoCaFiles(options.directory);
  if (!status.ok()) {
    return Error{status.error()};
  }

  Validity validity = caValidity(options.days, now);
  Result<Credential> root =
      generateCa(CertificateProfile::RootCa, options.commonName, validity, nullptr);
  if (!root.ok()) {
    return Error{root.error()};
  }
  std::optional<Credential> intermediate;
  if (options.withIntermediate) {
    Result<Credential> generated =
        generateCa(CertificateProfile::IntermediateCa, intermediateName, validity, &*root);
    if (!generated.ok()) {
      return Error{generated.error()};
    }
    intermediate = std::move(generated).value();
  }

  CaFileWriter writer(options.directory, options.force ? Overwrite::Yes : Overwrite::No);
  status = writeCa(writer, *root, intermediate ? &*intermediate : nullptr);
  if (status.ok() && options.force) {
    status = removeStaleFiles(options.directory, options.withIntermediate);
  }
  if (!status.ok()) {
    return Error{status.error()};
  }
  return std::move(writer.written());
}

Result<CaStore> CaStore::open(const std::string& directory) {
  struct stat info;
  if (stat(directory.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    return Error{"CA directory " + directory +
                 " not found; create one with 'certgate pki init --dir " + directory + "'"};
  }
  CaStore store;
  store.directory_ = directory;
  Result<UniqueFd> lock = lockDirectory(directory);
  if (!lock.ok()) {
    return Error{lock.error()};
  }
  store.lock_ = std::move(lock).value();
  Status status = store.loadCertificates();
  if (status.ok()) {
    status = store.loadSigningKey();
  }
  if (status.ok()) {
    status = store.loadRecord();
  }
  if (!status.ok()) {
    return Error{status.error()};
  }
  return store;
}

std::string CaStore::pathOf(std::string_view name) const {
  return joinPath(directory_, name);
}

Status CaStore::loadCertificates() {
  std::string rootPath = pathOf(kRootCertFile);
  if (!pathExists(rootPath)) {
    return Error{rootPath + " not found; " + directory_ +
                 " is not a CA directory (create one with 'certgate pki init --dir " + directory_ +
                 "')"};
  }
  Result<bssl::UniquePtr<X509>> root = readFirstCertificate(rootPath);
  if (!root.ok()) {
    return Error{root.error()};
  }
  root_ = std::move(root).value();
  std::string intermediatePath = pathOf(kIntermediateCertFile);
  if (!pathExists(intermediatePath)) {
    return okStatus();
  }
  Result<bssl::UniquePtr<X509>> intermediate = readFirstCertificate(intermediatePath);
  if (!intermediate.ok()) {
    return Error{intermediate.error()};
  }
  intermediate_ = std::move(intermediate).value();
  bssl::UniquePtr<EVP_PKEY> rootKey(X509_get_pubkey(root_.get()));
  if (!rootKey || X509_verify(intermediate_.get(), rootKey.get()) != 1) {
    takeBoringSslReason();
    return Error{intermediatePath + " is not signed by " + rootPath +
                 "; the files belong to different CAs"};
  }
  return okStatus();
}

Status CaStore::loadSigningKey() {
  std::string_view keyName = intermediate_ ? kIntermediateKeyFile : kRootKeyFile;
  std::string_view certName = intermediate_ ? kIntermediateCertFile : kRootCertFile;
  std::string keyPath = pathOf(keyName);
  if (!pathExists(keyPath)) {
    return Error{keyPath + " not found; the issuing CA needs its private key" +
                 (intermediate_ ? "" : " (without an intermediate, that is the root key)")};
  }
  Result<bssl::UniquePtr<EVP_PKEY>> key = readPrivateKeyFile(keyPath);
  if (!key.ok()) {
    return Error{key.error()};
  }
  if (!certificateMatchesKey(signingCertificate(), key->get())) {
    return Error{keyPath + " does not match " + pathOf(certName) +
                 " (the public keys differ); restore the key that belongs to this CA"};
  }
  signingKey_ = std::move(key).value();
  return okStatus();
}

Status CaStore::loadRecord() {
  std::string path = pathOf(kRecordFile);
  Result<std::string> text = readFile(path);
  if (!text.ok()) {
    return Error{text.error()};
  }
  Result<std::vector<RecordEntry>> entries = parseRecord(*text, path);
  if (!entries.ok()) {
    return Error{entries.error()};
  }
  record_ = std::move(entries).value();
  return okStatus();
}

Status CaStore::saveRecord() {
  return writeFile(pathOf(kRecordFile), formatRecord(record_), FileMode::Public, Overwrite::Yes);
}

const X509* CaStore::signingCertificate() const {
  return intermediate_ ? intermediate_.get() : root_.get();
}

std::vector<const X509*> CaStore::intermediates() const {
  if (!intermediate_) {
    return {};
  }
  return {intermediate_.get()};
}

Result<bssl::UniquePtr<X509>> CaStore::issue(const CertificateRequest& request,
                                             EVP_PKEY* subjectKey) {
  Result<int64_t> caNotAfter = asn1TimeToUnix(X509_get0_notAfter(signingCertificate()));
  if (!caNotAfter.ok()) {
    return Error{caNotAfter.error()};
  }
  if (request.validity.notAfter > *caNotAfter) {
    return Error{"notAfter " + formatRfc3339Utc(request.validity.notAfter) +
                 " is after the issuing CA's notAfter " + formatRfc3339Utc(*caNotAfter) +
                 "; choose a shorter validity"};
  }
  Result<bssl::UniquePtr<X509>> certificate =
      issueCertificate(request, subjectKey, Issuer{signingCertificate(), signingKey_.get()});
  if (!certificate.ok()) {
    return certificate;
  }
  RecordEntry entry;
  entry.serialHex = serialHexOf(certificate->get());
  entry.notAfter = request.validity.notAfter;
  entry.subject = formatNameRfc4514(X509_get_subject_name(certificate->get()));
  record_.push_back(entry);
  Status saved = saveRecord();
  if (!saved.ok()) {
    record_.pop_back();
    return Error{saved.error()};
  }
  return certificate;
}

Status CaStore::checkIssuedHere(const X509* certificate, std::string_view source) const {
  const X509* signer = signingCertificate();
  bssl::UniquePtr<EVP_PKEY> signerKey(X509_get_pubkey(const_cast<X509*>(signer)));
  bool sameName =
      X509_NAME_cmp(X509_get_issuer_name(certificate), X509_get_subject_name(signer)) == 0;
  // X509_verify only reads |certificate|; the signature is checked, not changed.
  bool signedHere =
      sameName && signerKey && X509_verify(const_cast<X509*>(certificate), signerKey.get()) == 1;
  takeBoringSslReason();
  if (!signedHere) {
    return Error{std::string(source) + " was not issued by the CA in " + directory_ +
                 " (its issuer is " + formatNameRfc4514(X509_get_issuer_name(certificate)) + ")"};
  }
  return okStatus();
}

Result<RecordEntry> CaStore::revoke(std::string_view serialHex, RevocationReason reason,
                                    int64_t now) {
  std::optional<std::string> serial = normalizeSerialHex(serialHex);
  if (!serial) {
    return Error{"invalid serial '" + std::string(serialHex) + "': expected hexadecimal digits"};
  }
  for (RecordEntry& entry : record_) {
    if (entry.serialHex != *serial) {
      continue;
    }
    if (entry.revoked) {
      return Error{"serial " + *serial + " (" + entry.subject + ") was already revoked at " +
                   formatRfc3339Utc(entry.revokedAt) + " for " +
                   std::string(revocationReasonName(entry.reason))};
    }
    RecordEntry previous = entry;
    entry.revoked = true;
    entry.revokedAt = now;
    entry.reason = reason;
    Status saved = saveRecord();
    if (!saved.ok()) {
      entry = previous;
      return Error{saved.error()};
    }
    return entry;
  }
  return Error{"serial " + *serial + " is not in " + pathOf(kRecordFile) +
               "; only certificates issued by this CA can be revoked"};
}

Result<CrlOutput> CaStore::createCrl(int64_t thisUpdate, int64_t nextUpdate) {
  std::string numberPath = pathOf(kCrlNumberFile);
  uint64_t lastNumber = 0;
  if (pathExists(numberPath)) {
    Result<std::string> text = readFile(numberPath, 64);
    if (!text.ok()) {
      return Error{text.error()};
    }
    const char* end = text->data() + text->size();
    auto [next, error] = std::from_chars(text->data(), end, lastNumber);
    if (error != std::errc() || (next != end && *next != '\n')) {
      return Error{numberPath + ": expected a decimal number"};
    }
  }

  CrlOutput output;
  output.crlNumber = lastNumber + 1;
  for (const RecordEntry& entry : record_) {
    output.numRevoked += entry.revoked ? 1 : 0;
  }
  Result<bssl::UniquePtr<X509_CRL>> crl =
      buildCrl(signingCertificate(), signingKey_.get(), record_,
               CrlRequest{output.crlNumber, thisUpdate, nextUpdate});
  if (!crl.ok()) {
    return Error{crl.error()};
  }
  Result<std::string> pem = encodeCrlPem(crl->get());
  if (!pem.ok()) {
    return Error{pem.error()};
  }
  output.pem = std::move(pem).value();

  Status saved = writeFile(numberPath, std::to_string(output.crlNumber) + "\n", FileMode::Public,
                           Overwrite::Yes);
  if (!saved.ok()) {
    return Error{saved.error()};
  }
  return output;
}

}  // namespace gw::pki
