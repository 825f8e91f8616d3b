#include "gateway/pki/pkcs12.h"

#include <optional>

#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/pkcs8.h>
#include <openssl/rand.h>

#include "gateway/pki/boringssl_error.h"
#include "gateway/pki/certificate.h"
#include "gateway/pki/pkcs12_modern.h"
#include "gateway/pki/utf8.h"

namespace gw::pki {
namespace {

// kLegacyIterations matches PKCS12_DEFAULT_ITER and OpenSSL's default, which
// every importer of the legacy format handles.
constexpr int kLegacyIterations = 2048;

Result<std::string> encodeLegacyPkcs12(const Pkcs12Contents& contents, std::string_view password,
                                       const std::string& friendlyName) {
  bssl::UniquePtr<STACK_OF(X509)> chain(sk_X509_new_null());
  if (!chain) {
    return boringSslError("cannot allocate the PKCS#12 chain");
  }
  for (X509* certificate : contents.chain) {
    bssl::UniquePtr<X509> reference = bssl::UpRef(certificate);
    if (!sk_X509_push(chain.get(), reference.get())) {
      return boringSslError("cannot build the PKCS#12 chain");
    }
    // The stack owns the new reference once the push succeeded.
    reference.release();
  }
  std::string passwordText(password);
  bssl::UniquePtr<PKCS12> pkcs12(PKCS12_create(
      passwordText.c_str(), friendlyName.empty() ? nullptr : friendlyName.c_str(), contents.key,
      contents.certificate, chain.get(), NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
      NID_pbe_WithSHA1And3_Key_TripleDES_CBC, kLegacyIterations, kLegacyIterations, 0));
  OPENSSL_cleanse(passwordText.data(), passwordText.size());
  if (!pkcs12) {
    return boringSslError("cannot create the legacy PKCS#12 file");
  }
  uint8_t* der = nullptr;
  int derLen = i2d_PKCS12(pkcs12.get(), &der);
  if (derLen <= 0) {
    return boringSslError("cannot encode the legacy PKCS#12 file");
  }
  std::string bytes(reinterpret_cast<char*>(der), static_cast<size_t>(derLen));
  OPENSSL_free(der);
  return bytes;
}

}  // namespace

Status validatePkcs12Password(std::string_view password) {
  if (password.empty()) {
    return Error{"invalid PKCS#12 password: it is empty"};
  }
  if (password.find('\0') != std::string_view::npos) {
    return Error{"invalid PKCS#12 password: it contains a NUL byte"};
  }
  if (!encodeUtf16BigEndian(password)) {
    return Error{
        "invalid PKCS#12 password: not UTF-8 text within the Basic Multilingual Plane "
        "(characters up to U+FFFF)"};
  }
  return okStatus();
}

std::string generatePkcs12Password() {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  static_assert(kAlphabet.size() == 57);
  // Bytes at or above the largest multiple of 57 are skipped so that every
  // character is equally likely.
  constexpr unsigned kLimit = 256 - 256 % kAlphabet.size();
  std::string password;
  while (password.size() < 24) {
    uint8_t byte = 0;
    RAND_bytes(&byte, 1);
    if (byte < kLimit) {
      password += kAlphabet[byte % kAlphabet.size()];
    }
  }
  return password;
}

Result<std::string> encodePkcs12(const Pkcs12Contents& contents, std::string_view password,
                                 Pkcs12Format format) {
  Status passwordStatus = validatePkcs12Password(password);
  if (!passwordStatus.ok()) {
    return Error{passwordStatus.error()};
  }
  if (!certificateMatchesKey(contents.certificate, contents.key)) {
    return Error{"the private key does not match the certificate"};
  }
  std::optional<std::string> friendlyNameUtf16 = encodeUtf16BigEndian(contents.friendlyName);
  if (!friendlyNameUtf16) {
    return Error{"invalid friendly name '" + contents.friendlyName +
                 "': not UTF-8 text within the Basic Multilingual Plane"};
  }
  if (format == Pkcs12Format::Legacy) {
    return encodeLegacyPkcs12(contents, password, contents.friendlyName);
  }
  return encodeModernPkcs12(contents, password, *friendlyNameUtf16, kPkcs12Iterations);
}

}  // namespace gw::pki
