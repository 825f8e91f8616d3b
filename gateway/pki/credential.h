// A credential is a private key with its certificate. These helpers are the
// one code path that "demo", "init" and "issue" use to create and store them.
#pragma once

#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "gateway/common/result.h"
#include "gateway/pki/certificate.h"
#include "gateway/pki/file_io.h"
#include "gateway/pki/key.h"

namespace gw::pki {

// Credential owns a private key and the certificate for it.
struct Credential {
  bssl::UniquePtr<EVP_PKEY> key;
  bssl::UniquePtr<X509> certificate;
};

// createCredential generates a |keyType| key and a certificate for it as
// |request| describes, signed by |issuer| or self-signed when |issuer| is
// null. |issuer| stays borrowed.
Result<Credential> createCredential(const CertificateRequest& request, KeyType keyType,
                                    const Credential* issuer);

// CredentialPaths are the files of a credential stored under one prefix.
struct CredentialPaths {
  std::string certificate;  // PREFIX.crt
  std::string key;          // PREFIX.key
};

// credentialPathsFor returns PREFIX.crt and PREFIX.key.
CredentialPaths credentialPathsFor(const std::string& prefix);

// checkCredentialPathsFree fails, naming the file and --force, if
// PREFIX.crt or PREFIX.key exists.
Status checkCredentialPathsFree(const CredentialPaths& paths);

// writeCredential writes |key| to PREFIX.key (mode 0600, written first) and
// |certificate| followed by |chain| to PREFIX.crt (mode 0644), and appends
// both paths to |written|. All pointers stay borrowed.
Status writeCredential(const CredentialPaths& paths, const EVP_PKEY* key, const X509* certificate,
                       const std::vector<const X509*>& chain, Overwrite overwrite,
                       std::vector<std::string>* written);

}  // namespace gw::pki
