// Private keys: generation, PEM encoding and loading, and a short description
// of a public key for display.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <openssl/evp.h>

#include "gateway/common/result.h"
#include "gateway/pki/file_io.h"

namespace gw::pki {

// KeyType is a key algorithm that "certgate pki issue --key" accepts. CA keys
// are always EcP256.
enum class KeyType { EcP256, Rsa2048, Rsa3072, Ed25519 };

// parseKeyType maps "ec-p256", "rsa-2048", "rsa-3072" or "ed25519" to a
// KeyType, or returns nullopt.
std::optional<KeyType> parseKeyType(std::string_view name);

// generateKey returns a new private key of |type|. The caller owns it.
Result<bssl::UniquePtr<EVP_PKEY>> generateKey(KeyType type);

// encodePrivateKeyPem returns |key| as an unencrypted PKCS#8 PEM block
// ("BEGIN PRIVATE KEY").
Result<std::string> encodePrivateKeyPem(const EVP_PKEY* key);

// writePrivateKeyFile writes |key| as PKCS#8 PEM to |path| with mode 0600
// (see writeFile for |overwrite|).
Status writePrivateKeyFile(const std::string& path, const EVP_PKEY* key, Overwrite overwrite);

// readPrivateKeyFile loads an unencrypted PEM private key (PKCS#8, or the
// traditional RSA and EC forms) from |path|. The caller owns the key. It fails
// on a missing file, a non-key file or an encrypted key, naming |path|.
Result<bssl::UniquePtr<EVP_PKEY>> readPrivateKeyFile(const std::string& path);

// describePublicKey returns "EC P-256", "EC P-384", "RSA 2048", "Ed25519" and
// similar for |key|, or "unknown" for other algorithms.
std::string describePublicKey(const EVP_PKEY* key);

// signatureDigestFor returns the digest X509_sign and X509_CRL_sign need with
// |key|: SHA-256, or null for Ed25519, which hashes internally.
const EVP_MD* signatureDigestFor(const EVP_PKEY* key);

}  // namespace gw::pki
