#include "gateway/pki/pkcs12_modern.h"

#include <cstring>
#include <optional>

#include <openssl/bytestring.h>
#include <openssl/cipher.h>
#include <openssl/digest.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "gateway/pki/boringssl_error.h"
#include "gateway/pki/utf8.h"

namespace gw::pki {
namespace {

// Object identifiers from RFC 7292 (PKCS#12), RFC 8018 (PKCS#5), RFC 2985
// (PKCS#9), RFC 2315 (PKCS#7) and NIST's algorithm registry.
constexpr std::string_view kOidData = "1.2.840.113549.1.7.1";
constexpr std::string_view kOidEncryptedData = "1.2.840.113549.1.7.6";
constexpr std::string_view kOidShroudedKeyBag = "1.2.840.113549.1.12.10.1.2";
constexpr std::string_view kOidCertBag = "1.2.840.113549.1.12.10.1.3";
constexpr std::string_view kOidX509Certificate = "1.2.840.113549.1.9.22.1";
constexpr std::string_view kOidFriendlyName = "1.2.840.113549.1.9.20";
constexpr std::string_view kOidLocalKeyId = "1.2.840.113549.1.9.21";
constexpr std::string_view kOidPbes2 = "1.2.840.113549.1.5.13";
constexpr std::string_view kOidPbkdf2 = "1.2.840.113549.1.5.12";
constexpr std::string_view kOidHmacWithSha256 = "1.2.840.113549.2.9";
constexpr std::string_view kOidAes256Cbc = "2.16.840.1.101.3.4.1.42";
constexpr std::string_view kOidSha256 = "2.16.840.1.101.3.4.2.1";

constexpr unsigned kExplicitTag0 = CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0;
constexpr unsigned kImplicitTag0 = CBS_ASN1_CONTEXT_SPECIFIC | 0;
constexpr size_t kPbes2SaltLen = 16;
// The MAC salt has 8 bytes, as in the files "openssl pkcs12 -export" (3.0)
// writes. A report (ca.stable.confirm.ch/pkcs12.html) found macOS Keychain
// rejecting a file that differed from OpenSSL's only by a 16-byte MAC salt.
constexpr size_t kMacSaltLen = 8;
constexpr size_t kAesKeyLen = 32;
constexpr size_t kAesIvLen = 16;
constexpr size_t kSha256BlockLen = 64;

// Pbes2Parameters are the random inputs of one PBES2 encryption.
struct Pbes2Parameters {
  uint8_t salt[kPbes2SaltLen];
  uint8_t iv[kAesIvLen];
  uint32_t iterations;
};

const uint8_t* bytesOf(std::string_view text) {
  return reinterpret_cast<const uint8_t*>(text.data());
}

// addOid writes an OBJECT IDENTIFIER element. CBB_add_asn1_oid_from_text
// writes only the contents, so the tag and length come from CBB_add_asn1.
bool addOid(CBB* cbb, std::string_view oid) {
  CBB element;
  return CBB_add_asn1(cbb, &element, CBS_ASN1_OBJECT) &&
         CBB_add_asn1_oid_from_text(&element, oid.data(), oid.size()) && CBB_flush(cbb);
}

bool addOctetString(CBB* cbb, std::string_view bytes) {
  return CBB_add_asn1_octet_string(cbb, bytesOf(bytes), bytes.size()) == 1;
}

// finishToString returns the bytes written to the top-level |cbb|.
Result<std::string> finishToString(CBB* cbb, std::string_view part) {
  uint8_t* data = nullptr;
  size_t length = 0;
  if (!CBB_finish(cbb, &data, &length)) {
    return boringSslError("cannot encode the PKCS#12 " + std::string(part));
  }
  std::string bytes(reinterpret_cast<char*>(data), length);
  OPENSSL_free(data);
  return bytes;
}

// addPbes2Algorithm writes the AlgorithmIdentifier of PBES2 with PBKDF2
// (HMAC-SHA256) and AES-256-CBC (RFC 8018, appendix A.4).
bool addPbes2Algorithm(CBB* out, const Pbes2Parameters& params) {
  CBB algorithm, pbes2, kdf, kdfParams, prf, null, scheme;
  return CBB_add_asn1(out, &algorithm, CBS_ASN1_SEQUENCE) && addOid(&algorithm, kOidPbes2) &&
         CBB_add_asn1(&algorithm, &pbes2, CBS_ASN1_SEQUENCE) &&
         CBB_add_asn1(&pbes2, &kdf, CBS_ASN1_SEQUENCE) && addOid(&kdf, kOidPbkdf2) &&
         CBB_add_asn1(&kdf, &kdfParams, CBS_ASN1_SEQUENCE) &&
         CBB_add_asn1_octet_string(&kdfParams, params.salt, kPbes2SaltLen) &&
         CBB_add_asn1_uint64(&kdfParams, params.iterations) &&
         CBB_add_asn1(&kdfParams, &prf, CBS_ASN1_SEQUENCE) && addOid(&prf, kOidHmacWithSha256) &&
         CBB_add_asn1(&prf, &null, CBS_ASN1_NULL) &&
         CBB_add_asn1(&pbes2, &scheme, CBS_ASN1_SEQUENCE) && addOid(&scheme, kOidAes256Cbc) &&
         CBB_add_asn1_octet_string(&scheme, params.iv, kAesIvLen) && CBB_flush(out);
}

// pbes2Encrypt encrypts |plaintext| with AES-256-CBC under a key derived by
// PBKDF2-HMAC-SHA256 from the UTF-8 bytes of |password|, which is how PBES2
// inside PKCS#12 takes the password (unlike the BMPString of the MAC).
Result<std::string> pbes2Encrypt(std::string_view plaintext, std::string_view password,
                                 const Pbes2Parameters& params) {
  uint8_t key[kAesKeyLen];
  if (!PKCS5_PBKDF2_HMAC(password.data(), password.size(), params.salt, kPbes2SaltLen,
                         params.iterations, EVP_sha256(), sizeof(key), key)) {
    return boringSslError("cannot derive the PKCS#12 encryption key");
  }
  bssl::ScopedEVP_CIPHER_CTX context;
  std::string ciphertext(plaintext.size() + kAesIvLen, '\0');
  auto* out = reinterpret_cast<uint8_t*>(ciphertext.data());
  int updateLen = 0;
  int finalLen = 0;
  bool ok = EVP_EncryptInit_ex(context.get(), EVP_aes_256_cbc(), nullptr, key, params.iv) &&
            EVP_EncryptUpdate(context.get(), out, &updateLen, bytesOf(plaintext),
                              static_cast<int>(plaintext.size())) &&
            EVP_EncryptFinal_ex(context.get(), out + updateLen, &finalLen);
  OPENSSL_cleanse(key, sizeof(key));
  if (!ok) {
    return boringSslError("cannot encrypt the PKCS#12 contents");
  }
  ciphertext.resize(static_cast<size_t>(updateLen + finalLen));
  return ciphertext;
}

Pbes2Parameters newPbes2Parameters(uint32_t iterations) {
  Pbes2Parameters params;
  RAND_bytes(params.salt, kPbes2SaltLen);
  RAND_bytes(params.iv, kAesIvLen);
  params.iterations = iterations;
  return params;
}

// addBagAttributes writes the SET OF attributes that pairs a key with its
// certificate: friendlyName (if any) and localKeyId.
bool addBagAttributes(CBB* bag, std::string_view friendlyNameUtf16, std::string_view localKeyId) {
  CBB attributes, attribute, values, name;
  if (!CBB_add_asn1(bag, &attributes, CBS_ASN1_SET)) {
    return false;
  }
  if (!friendlyNameUtf16.empty() &&
      !(CBB_add_asn1(&attributes, &attribute, CBS_ASN1_SEQUENCE) &&
        addOid(&attribute, kOidFriendlyName) && CBB_add_asn1(&attribute, &values, CBS_ASN1_SET) &&
        CBB_add_asn1(&values, &name, CBS_ASN1_BMPSTRING) &&
        CBB_add_bytes(&name, bytesOf(friendlyNameUtf16), friendlyNameUtf16.size()) &&
        CBB_flush(&attributes))) {
    return false;
  }
  return CBB_add_asn1(&attributes, &attribute, CBS_ASN1_SEQUENCE) &&
         addOid(&attribute, kOidLocalKeyId) && CBB_add_asn1(&attribute, &values, CBS_ASN1_SET) &&
         addOctetString(&values, localKeyId) && CBB_flush_asn1_set_of(&attributes) &&
         CBB_flush(bag);
}

// addCertBag writes a SafeBag holding |certificate|. Attributes are written
// only when |localKeyId| is not empty (the leaf certificate).
bool addCertBag(CBB* safeContents, X509* certificate, std::string_view friendlyNameUtf16,
                std::string_view localKeyId) {
  CBB bag, value, certBag, certValue, der;
  uint8_t* derBytes = nullptr;
  int derLen = i2d_X509(certificate, nullptr);
  return derLen > 0 && CBB_add_asn1(safeContents, &bag, CBS_ASN1_SEQUENCE) &&
         addOid(&bag, kOidCertBag) && CBB_add_asn1(&bag, &value, kExplicitTag0) &&
         CBB_add_asn1(&value, &certBag, CBS_ASN1_SEQUENCE) &&
         addOid(&certBag, kOidX509Certificate) &&
         CBB_add_asn1(&certBag, &certValue, kExplicitTag0) &&
         CBB_add_asn1(&certValue, &der, CBS_ASN1_OCTETSTRING) &&
         CBB_add_space(&der, &derBytes, static_cast<size_t>(derLen)) &&
         i2d_X509(certificate, &derBytes) == derLen &&
         (localKeyId.empty() || addBagAttributes(&bag, friendlyNameUtf16, localKeyId)) &&
         CBB_flush(safeContents);
}

// encodeCertificateSafeContents returns the DER SafeContents with the leaf
// certificate followed by the chain.
Result<std::string> encodeCertificateSafeContents(const Pkcs12Contents& contents,
                                                  std::string_view friendlyNameUtf16,
                                                  std::string_view localKeyId) {
  bssl::ScopedCBB cbb;
  CBB safeContents;
  bool ok = CBB_init(cbb.get(), 2048) &&
            CBB_add_asn1(cbb.get(), &safeContents, CBS_ASN1_SEQUENCE) &&
            addCertBag(&safeContents, contents.certificate, friendlyNameUtf16, localKeyId);
  for (X509* certificate : contents.chain) {
    ok = ok && addCertBag(&safeContents, certificate, "", "");
  }
  if (!ok) {
    return boringSslError("cannot encode the PKCS#12 certificate bags");
  }
  return finishToString(cbb.get(), "certificate bags");
}

// encodeKeySafeContents returns the DER SafeContents with one
// pkcs8ShroudedKeyBag holding |contents.key|, encrypted with PBES2.
Result<std::string> encodeKeySafeContents(const Pkcs12Contents& contents, std::string_view password,
                                          std::string_view friendlyNameUtf16,
                                          std::string_view localKeyId, uint32_t iterations) {
  bssl::ScopedCBB privateKeyInfo;
  if (!CBB_init(privateKeyInfo.get(), 512) ||
      !EVP_marshal_private_key(privateKeyInfo.get(), contents.key)) {
    return boringSslError("cannot encode the private key");
  }
  Result<std::string> plaintext = finishToString(privateKeyInfo.get(), "private key");
  if (!plaintext.ok()) {
    return plaintext;
  }
  Pbes2Parameters params = newPbes2Parameters(iterations);
  Result<std::string> ciphertext = pbes2Encrypt(*plaintext, password, params);
  OPENSSL_cleanse(plaintext->data(), plaintext->size());
  if (!ciphertext.ok()) {
    return ciphertext;
  }
  bssl::ScopedCBB cbb;
  CBB safeContents, bag, value, encryptedKeyInfo;
  if (!CBB_init(cbb.get(), 1024) || !CBB_add_asn1(cbb.get(), &safeContents, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&safeContents, &bag, CBS_ASN1_SEQUENCE) || !addOid(&bag, kOidShroudedKeyBag) ||
      !CBB_add_asn1(&bag, &value, kExplicitTag0) ||
      !CBB_add_asn1(&value, &encryptedKeyInfo, CBS_ASN1_SEQUENCE) ||
      !addPbes2Algorithm(&encryptedKeyInfo, params) ||
      !addOctetString(&encryptedKeyInfo, *ciphertext) || !CBB_flush(&bag) ||
      !addBagAttributes(&bag, friendlyNameUtf16, localKeyId)) {
    return boringSslError("cannot encode the PKCS#12 key bag");
  }
  return finishToString(cbb.get(), "key bag");
}

// addDataContentInfo writes a ContentInfo of type data around |content|.
bool addDataContentInfo(CBB* out, std::string_view content) {
  CBB contentInfo, explicitContent;
  return CBB_add_asn1(out, &contentInfo, CBS_ASN1_SEQUENCE) && addOid(&contentInfo, kOidData) &&
         CBB_add_asn1(&contentInfo, &explicitContent, kExplicitTag0) &&
         addOctetString(&explicitContent, content) && CBB_flush(out);
}

// addEncryptedDataContentInfo writes a ContentInfo of type encryptedData
// (RFC 2315, section 13) holding |content| encrypted with PBES2.
Status addEncryptedDataContentInfo(CBB* out, std::string_view content, std::string_view password,
                                   uint32_t iterations) {
  Pbes2Parameters params = newPbes2Parameters(iterations);
  Result<std::string> ciphertext = pbes2Encrypt(content, password, params);
  if (!ciphertext.ok()) {
    return Error{ciphertext.error()};
  }
  CBB contentInfo, explicitContent, encryptedData, encryptedContentInfo, encryptedContent;
  if (!CBB_add_asn1(out, &contentInfo, CBS_ASN1_SEQUENCE) ||
      !addOid(&contentInfo, kOidEncryptedData) ||
      !CBB_add_asn1(&contentInfo, &explicitContent, kExplicitTag0) ||
      !CBB_add_asn1(&explicitContent, &encryptedData, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1_uint64(&encryptedData, 0) ||
      !CBB_add_asn1(&encryptedData, &encryptedContentInfo, CBS_ASN1_SEQUENCE) ||
      !addOid(&encryptedContentInfo, kOidData) ||
      !addPbes2Algorithm(&encryptedContentInfo, params) ||
      !CBB_add_asn1(&encryptedContentInfo, &encryptedContent, kImplicitTag0) ||
      !CBB_add_bytes(&encryptedContent, bytesOf(*ciphertext), ciphertext->size()) ||
      !CBB_flush(out)) {
    return boringSslError("cannot encode the PKCS#12 encrypted certificates");
  }
  return okStatus();
}

// addMacData writes the MacData of RFC 7292, section 4: HMAC-SHA256 over
// |authenticatedSafe| with a key from derivePkcs12Key.
Status addMacData(CBB* pfx, std::string_view authenticatedSafe, std::string_view passwordBmp,
                  uint32_t iterations) {
  uint8_t salt[kMacSaltLen];
  RAND_bytes(salt, sizeof(salt));
  std::string_view saltView(reinterpret_cast<const char*>(salt), sizeof(salt));
  Result<std::string> macKey = derivePkcs12Key(passwordBmp, saltView, 3, iterations, 32);
  if (!macKey.ok()) {
    return Error{macKey.error()};
  }
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned macLen = 0;
  bool ok = HMAC(EVP_sha256(), macKey->data(), macKey->size(), bytesOf(authenticatedSafe),
                 authenticatedSafe.size(), mac, &macLen) != nullptr;
  OPENSSL_cleanse(macKey->data(), macKey->size());
  CBB macData, digestInfo, algorithm, null;
  if (!ok || !CBB_add_asn1(pfx, &macData, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&macData, &digestInfo, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&digestInfo, &algorithm, CBS_ASN1_SEQUENCE) ||
      !addOid(&algorithm, kOidSha256) || !CBB_add_asn1(&algorithm, &null, CBS_ASN1_NULL) ||
      !CBB_add_asn1_octet_string(&digestInfo, mac, macLen) ||
      !CBB_add_asn1_octet_string(&macData, salt, sizeof(salt)) ||
      !CBB_add_asn1_uint64(&macData, iterations) || !CBB_flush(pfx)) {
    return boringSslError("cannot encode the PKCS#12 MAC");
  }
  return okStatus();
}

// toBmpPassword returns |password| as the NUL-terminated BMPString that the
// PKCS#12 key derivation takes (RFC 7292, appendix B.1).
Result<std::string> toBmpPassword(std::string_view password) {
  std::optional<std::string> bmp = encodeUtf16BigEndian(password);
  if (!bmp) {
    return Error{"invalid PKCS#12 password: not UTF-8 text within the Basic Multilingual Plane"};
  }
  bmp->append(2, '\0');
  return std::move(*bmp);
}

Result<std::string> localKeyIdOf(X509* certificate) {
  uint8_t digest[SHA_DIGEST_LENGTH];
  unsigned digestLen = 0;
  if (!X509_digest(certificate, EVP_sha1(), digest, &digestLen)) {
    return boringSslError("cannot hash the certificate");
  }
  return std::string(reinterpret_cast<char*>(digest), digestLen);
}

}  // namespace

Result<std::string> derivePkcs12Key(std::string_view passwordBmp, std::string_view salt, uint8_t id,
                                    uint32_t iterations, size_t keyLen) {
  if (keyLen > SHA256_DIGEST_LENGTH || iterations == 0) {
    return Error{"derivePkcs12Key: unsupported key length or iteration count"};
  }
  // D, then S and P each repeated to a whole number of 64-byte blocks.
  std::string input(kSha256BlockLen, static_cast<char>(id));
  auto appendRepeated = [&input](std::string_view source) {
    size_t blocks = (source.size() + kSha256BlockLen - 1) / kSha256BlockLen;
    for (size_t i = 0; i < blocks * kSha256BlockLen; i++) {
      input += source[i % source.size()];
    }
  };
  appendRepeated(salt);
  appendRepeated(passwordBmp);

  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(bytesOf(input), input.size(), digest);
  for (uint32_t i = 1; i < iterations; i++) {
    SHA256(digest, sizeof(digest), digest);
  }
  OPENSSL_cleanse(input.data(), input.size());
  std::string key(reinterpret_cast<char*>(digest), keyLen);
  OPENSSL_cleanse(digest, sizeof(digest));
  return key;
}

Result<std::string> encodeModernPkcs12(const Pkcs12Contents& contents, std::string_view password,
                                       std::string_view friendlyNameUtf16, uint32_t iterations) {
  Result<std::string> localKeyId = localKeyIdOf(contents.certificate);
  Result<std::string> passwordBmp = toBmpPassword(password);
  if (!localKeyId.ok() || !passwordBmp.ok()) {
    return Error{localKeyId.ok() ? passwordBmp.error() : localKeyId.error()};
  }
  Result<std::string> certificates =
      encodeCertificateSafeContents(contents, friendlyNameUtf16, *localKeyId);
  Result<std::string> key =
      encodeKeySafeContents(contents, password, friendlyNameUtf16, *localKeyId, iterations);
  if (!certificates.ok() || !key.ok()) {
    return Error{certificates.ok() ? key.error() : certificates.error()};
  }

  bssl::ScopedCBB safeCbb;
  CBB authenticatedSafe;
  if (!CBB_init(safeCbb.get(), 4096) ||
      !CBB_add_asn1(safeCbb.get(), &authenticatedSafe, CBS_ASN1_SEQUENCE)) {
    return boringSslError("cannot encode the PKCS#12 contents");
  }
  Status status =
      addEncryptedDataContentInfo(&authenticatedSafe, *certificates, password, iterations);
  if (!status.ok() || !addDataContentInfo(&authenticatedSafe, *key)) {
    return Error{status.ok() ? "cannot encode the PKCS#12 key bag" : status.error()};
  }
  Result<std::string> authenticatedSafeDer = finishToString(safeCbb.get(), "contents");
  if (!authenticatedSafeDer.ok()) {
    return authenticatedSafeDer;
  }

  bssl::ScopedCBB cbb;
  CBB pfx;
  if (!CBB_init(cbb.get(), authenticatedSafeDer->size() + 256) ||
      !CBB_add_asn1(cbb.get(), &pfx, CBS_ASN1_SEQUENCE) || !CBB_add_asn1_uint64(&pfx, 3) ||
      !addDataContentInfo(&pfx, *authenticatedSafeDer)) {
    return boringSslError("cannot encode the PKCS#12 file");
  }
  status = addMacData(&pfx, *authenticatedSafeDer, *passwordBmp, iterations);
  OPENSSL_cleanse(passwordBmp->data(), passwordBmp->size());
  if (!status.ok()) {
    return Error{status.error()};
  }
  return finishToString(cbb.get(), "file");
}

}  // namespace gw::pki
