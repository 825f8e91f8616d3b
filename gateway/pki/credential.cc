#include "gateway/pki/credential.h"

namespace gw::pki {

Result<Credential> createCredential(const CertificateRequest& request, KeyType keyType,
                                    const Credential* issuer) {
  Result<bssl::UniquePtr<EVP_PKEY>> key = generateKey(keyType);
  if (!key.ok()) {
    return Error{key.error()};
  }
  Issuer signer{issuer ? issuer->certificate.get() : nullptr,
                issuer ? issuer->key.get() : key->get()};
  Result<bssl::UniquePtr<X509>> certificate = issueCertificate(request, key->get(), signer);
  if (!certificate.ok()) {
    return Error{certificate.error()};
  }
  return Credential{std::move(key).value(), std::move(certificate).value()};
}

CredentialPaths credentialPathsFor(const std::string& prefix) {
  return CredentialPaths{prefix + ".crt", prefix + ".key"};
}

Status checkCredentialPathsFree(const CredentialPaths& paths) {
  for (const std::string& path : {paths.key, paths.certificate}) {
    if (pathExists(path)) {
      return Error{path + " already exists; pass --force to replace it"};
    }
  }
  return okStatus();
}

Status writeCredential(const CredentialPaths& paths, const EVP_PKEY* key, const X509* certificate,
                       const std::vector<const X509*>& chain, Overwrite overwrite,
                       std::vector<std::string>* written) {
  Status status = writePrivateKeyFile(paths.key, key, overwrite);
  if (!status.ok()) {
    return status;
  }
  written->push_back(paths.key);
  std::vector<const X509*> certificates = {certificate};
  certificates.insert(certificates.end(), chain.begin(), chain.end());
  status = writeCertificateFile(paths.certificate, certificates, overwrite);
  if (!status.ok()) {
    return status;
  }
  written->push_back(paths.certificate);
  return okStatus();
}

}  // namespace gw::pki
