#include "gateway/pki/key.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "gateway/pki/boringssl_error.h"

namespace gw::pki {
namespace {

Result<bssl::UniquePtr<EVP_PKEY>> generateEcP256() {
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  if (!ec || !key || !EC_KEY_generate_key(ec.get()) ||
      !EVP_PKEY_assign_EC_KEY(key.get(), ec.get())) {
    return boringSslError("cannot generate an EC P-256 key");
  }
  // EVP_PKEY_assign_EC_KEY took ownership of |ec|.
  ec.release();
  return key;
}

Result<bssl::UniquePtr<EVP_PKEY>> generateRsa(unsigned bits) {
  bssl::UniquePtr<RSA> rsa(RSA_new());
  bssl::UniquePtr<BIGNUM> exponent(BN_new());
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  if (!rsa || !exponent || !key || !BN_set_word(exponent.get(), RSA_F4) ||
      !RSA_generate_key_ex(rsa.get(), static_cast<int>(bits), exponent.get(), nullptr) ||
      !EVP_PKEY_assign_RSA(key.get(), rsa.get())) {
    return boringSslError("cannot generate an RSA-" + std::to_string(bits) + " key");
  }
  // EVP_PKEY_assign_RSA took ownership of |rsa|.
  rsa.release();
  return key;
}

Result<bssl::UniquePtr<EVP_PKEY>> generateEd25519() {
  bssl::UniquePtr<EVP_PKEY_CTX> context(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* generated = nullptr;
  if (!context || !EVP_PKEY_keygen_init(context.get()) ||
      !EVP_PKEY_keygen(context.get(), &generated)) {
    return boringSslError("cannot generate an Ed25519 key");
  }
  return bssl::UniquePtr<EVP_PKEY>(generated);
}

std::string describeCurve(const EVP_PKEY* key) {
  const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key);
  int nid = ec ? EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) : NID_undef;
  switch (nid) {
    case NID_X9_62_prime256v1:
      return "EC P-256";
    case NID_secp384r1:
      return "EC P-384";
    case NID_secp521r1:
      return "EC P-521";
    default:
      return "EC (other curve)";
  }
}

}  // namespace

std::optional<KeyType> parseKeyType(std::string_view name) {
  if (name == "ec-p256") {
    return KeyType::EcP256;
  }
  if (name == "rsa-2048") {
    return KeyType::Rsa2048;
  }
  if (name == "rsa-3072") {
    return KeyType::Rsa3072;
  }
  if (name == "ed25519") {
    return KeyType::Ed25519;
  }
  return std::nullopt;
}

Result<bssl::UniquePtr<EVP_PKEY>> generateKey(KeyType type) {
  switch (type) {
    case KeyType::EcP256:
      return generateEcP256();
    case KeyType::Rsa2048:
      return generateRsa(2048);
    case KeyType::Rsa3072:
      return generateRsa(3072);
    case KeyType::Ed25519:
      return generateEd25519();
  }
  return Error{"unknown key type"};
}

Result<std::string> encodePrivateKeyPem(const EVP_PKEY* key) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  // PEM_write_bio_PrivateKey does not modify the key despite its signature.
  if (!bio || !PEM_write_bio_PrivateKey(bio.get(), const_cast<EVP_PKEY*>(key), nullptr, nullptr, 0,
                                        nullptr, nullptr)) {
    return boringSslError("cannot encode the private key");
  }
  const uint8_t* data = nullptr;
  size_t length = 0;
  BIO_mem_contents(bio.get(), &data, &length);
  return std::string(reinterpret_cast<const char*>(data), length);
}

Status writePrivateKeyFile(const std::string& path, const EVP_PKEY* key, Overwrite overwrite) {
  Result<std::string> pem = encodePrivateKeyPem(key);
  if (!pem.ok()) {
    return Error{pem.error()};
  }
  Status status = writeFile(path, *pem, FileMode::Private, overwrite);
  OPENSSL_cleanse(pem->data(), pem->size());
  return status;
}

Result<bssl::UniquePtr<EVP_PKEY>> readPrivateKeyFile(const std::string& path) {
  Result<std::string> pem = readFile(path, 1 << 20);
  if (!pem.ok()) {
    return Error{pem.error()};
  }
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  // With no password callback data, an encrypted key fails instead of
  // prompting on the terminal.
  bssl::UniquePtr<EVP_PKEY> key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                                    : nullptr);
  OPENSSL_cleanse(pem->data(), pem->size());
  if (!key) {
    return boringSslError("cannot read a private key from " + path +
                          " (expected an unencrypted PEM key)");
  }
  return key;
}

std::string describePublicKey(const EVP_PKEY* key) {
  switch (EVP_PKEY_id(key)) {
    case EVP_PKEY_EC:
      return describeCurve(key);
    case EVP_PKEY_RSA:
      return "RSA " + std::to_string(EVP_PKEY_bits(key));
    case EVP_PKEY_ED25519:
      return "Ed25519";
    default:
      return "unknown";
  }
}

const EVP_MD* signatureDigestFor(const EVP_PKEY* key) {
  return EVP_PKEY_id(key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
}

}  // namespace gw::pki
