#include "gateway/pki/demo.h"

#include "gateway/pki/credential.h"
#include "gateway/pki/name.h"
#include "gateway/pki/pkcs12.h"

namespace gw::pki {
namespace {

constexpr int64_t kDay = 86400;
constexpr int64_t kCaDays = 3650;
constexpr int64_t kLeafDays = 365;

enum class DemoIssuer { DemoCa, ForeignCa };

// DemoLeaf describes one end-entity credential of the demo PKI.
struct DemoLeaf {
  std::string_view stem;
  std::string_view commonName;
  CertificateProfile profile;
  DemoIssuer issuer;
  bool expired;
  bool pkcs12;
};

constexpr DemoLeaf kDemoLeaves[] = {
    {"server", "demo-server", CertificateProfile::Server, DemoIssuer::DemoCa, false, false},
    {"client_good", "good-client", CertificateProfile::Client, DemoIssuer::DemoCa, false, true},
    {"client_second", "second-client", CertificateProfile::Client, DemoIssuer::DemoCa, false, true},
    {"client_expired", "expired-client", CertificateProfile::Client, DemoIssuer::DemoCa, true,
     false},
    {"client_foreign", "foreign-client", CertificateProfile::Client, DemoIssuer::ForeignCa, false,
     false},
};

std::vector<std::string> demoFileNames() {
  std::vector<std::string> names = {"ca.crt", "ca.key", "foreign_ca.crt", "foreign_ca.key"};
  for (const DemoLeaf& leaf : kDemoLeaves) {
    names.push_back(std::string(leaf.stem) + ".crt");
    names.push_back(std::string(leaf.stem) + ".key");
    if (leaf.pkcs12) {
      names.push_back(std::string(leaf.stem) + ".p12");
    }
  }
  return names;
}

Status checkDemoFilesFree(const std::string& directory) {
  for (const std::string& name : demoFileNames()) {
    std::string path = joinPath(directory, name);
    if (pathExists(path)) {
      return Error{path + " already exists; pass --force to replace the whole demo PKI"};
    }
  }
  return okStatus();
}

Result<std::vector<SubjectAltName>> serverSubjectAltNames() {
  std::vector<SubjectAltName> names;
  for (std::string_view text : {"dns:localhost", "ip:127.0.0.1", "ip:::1"}) {
    Result<SubjectAltName> name = parseSubjectAltName(text);
    if (!name.ok()) {
      return Error{name.error()};
    }
    names.push_back(std::move(name).value());
  }
  return names;
}

Result<CertificateRequest> leafRequest(const DemoLeaf& leaf, int64_t now) {
  CertificateRequest request;
  request.profile = leaf.profile;
  request.commonName = leaf.commonName;
  request.validity = leaf.expired ? Validity{now - 30 * kDay, now - kDay}
                                  : Validity{now - kClockSkewSeconds, now + kLeafDays * kDay};
  if (leaf.profile == CertificateProfile::Server) {
    Result<std::vector<SubjectAltName>> names = serverSubjectAltNames();
    if (!names.ok()) {
      return Error{names.error()};
    }
    request.subjectAltNames = std::move(names).value();
  }
  return request;
}

Result<Credential> createDemoCa(std::string_view commonName, int64_t now) {
  CertificateRequest request;
  request.profile = CertificateProfile::RootCa;
  request.commonName = commonName;
  request.validity = Validity{now - kClockSkewSeconds, now + kCaDays * kDay};
  return createCredential(request, KeyType::EcP256, nullptr);
}

Status writePkcs12(const std::string& path, const Credential& leaf, const Credential& ca,
                   Overwrite overwrite) {
  Pkcs12Contents contents;
  contents.key = leaf.key.get();
  contents.certificate = leaf.certificate.get();
  contents.chain = {ca.certificate.get()};
  contents.friendlyName = commonNameOf(X509_get_subject_name(leaf.certificate.get()));
  Result<std::string> der = encodePkcs12(contents, kDemoPkcs12Password, Pkcs12Format::Legacy);
  if (!der.ok()) {
    return Error{der.error()};
  }
  return writeFile(path, *der, FileMode::Private, overwrite);
}

// DemoWriter creates and writes the demo credentials one by one.
class DemoWriter {
 public:
  DemoWriter(std::string directory, Overwrite overwrite)
      : directory_(std::move(directory)), overwrite_(overwrite) {}

  Status writeCa(std::string_view stem, const Credential& ca) {
    return writeCredential(credentialPathsFor(joinPath(directory_, stem)), ca.key.get(),
                           ca.certificate.get(), {}, overwrite_, &written_);
  }

  Status writeLeaf(const DemoLeaf& leaf, const Credential& issuer, int64_t now) {
    Result<CertificateRequest> request = leafRequest(leaf, now);
    if (!request.ok()) {
      return Error{request.error()};
    }
    Result<Credential> credential = createCredential(*request, KeyType::EcP256, &issuer);
    if (!credential.ok()) {
      return Error{credential.error()};
    }
    std::string prefix = joinPath(directory_, leaf.stem);
    Status status = writeCredential(credentialPathsFor(prefix), credential->key.get(),
                                    credential->certificate.get(), {}, overwrite_, &written_);
    if (status.ok() && leaf.pkcs12) {
      status = writePkcs12(prefix + ".p12", *credential, issuer, overwrite_);
      if (status.ok()) {
        written_.push_back(prefix + ".p12");
      }
    }
    return status;
  }

  std::vector<std::string>& written() { return written_; }

 private:
  std::string directory_;
  Overwrite overwrite_;
  std::vector<std::string> written_;
};

}  // namespace

Result<std::vector<std::string>> createDemoPki(const DemoOptions& options, int64_t now) {
  if (!options.force) {
    Status filesFree = checkDemoFilesFree(options.directory);
    if (!filesFree.ok()) {
      return Error{filesFree.error()};
    }
  }
  Status created = createDirectory(options.directory);
  if (!created.ok()) {
    return Error{created.error()};
  }
  Result<Credential> demoCa = createDemoCa("Demo Root CA", now);
  if (!demoCa.ok()) {
    return Error{demoCa.error()};
  }
  Result<Credential> foreignCa = createDemoCa("Foreign Root CA", now);
  if (!foreignCa.ok()) {
    return Error{foreignCa.error()};
  }

  DemoWriter writer(options.directory, options.force ? Overwrite::Yes : Overwrite::No);
  Status status = writer.writeCa("ca", *demoCa);
  if (status.ok()) {
    status = writer.writeCa("foreign_ca", *foreignCa);
  }
  for (const DemoLeaf& leaf : kDemoLeaves) {
    if (status.ok()) {
      const Credential& issuer = leaf.issuer == DemoIssuer::DemoCa ? *demoCa : *foreignCa;
      status = writer.writeLeaf(leaf, issuer, now);
    }
  }
  if (!status.ok()) {
    return Error{status.error()};
  }
  return std::move(writer.written());
}

}  // namespace gw::pki
