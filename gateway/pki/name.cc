#include "gateway/pki/name.h"

#include <cstdint>
#include <cstdio>
#include <optional>

#include <openssl/bio.h>
#include <openssl/mem.h>
#include <openssl/obj.h>

#include "gateway/pki/boringssl_error.h"
#include "gateway/pki/utf8.h"

namespace gw::pki {
namespace {

bool isControlCharacter(uint32_t codePoint) {
  return codePoint < 0x20 || (codePoint >= 0x7f && codePoint <= 0x9f);
}

std::string formatCodePoint(uint32_t codePoint) {
  char buffer[16];
  snprintf(buffer, sizeof(buffer), "U+%04X", codePoint);
  return buffer;
}

// escapeC1Controls writes each byte of a U+0080-U+009F character, and any
// byte that is not valid UTF-8, as \XX. X509_NAME_print_ex escapes only C0
// controls and DEL, but a terminal may act on C1 controls such as U+009B.
std::string escapeC1Controls(std::string_view text) {
  std::string escaped;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t start = pos;
    std::optional<uint32_t> codePoint = decodeUtf8(text, &pos);
    if (codePoint && !isControlCharacter(*codePoint)) {
      escaped.append(text.substr(start, pos - start));
      continue;
    }
    size_t end = codePoint ? pos : start + 1;
    for (size_t i = start; i < end; i++) {
      char hex[4];
      snprintf(hex, sizeof(hex), "\\%02X", static_cast<uint8_t>(text[i]));
      escaped += hex;
    }
    pos = end;
  }
  return escaped;
}

}  // namespace

Status validateNameText(std::string_view field, std::string_view value, size_t maxLength) {
  std::string prefix = "invalid " + std::string(field) + ": ";
  if (value.empty()) {
    return Error{prefix + "the value is empty"};
  }
  size_t characters = 0;
  size_t pos = 0;
  while (pos < value.size()) {
    size_t start = pos;
    std::optional<uint32_t> codePoint = decodeUtf8(value, &pos);
    if (!codePoint) {
      return Error{prefix + "not valid UTF-8 at byte " + std::to_string(start)};
    }
    if (isControlCharacter(*codePoint)) {
      return Error{prefix + "control character " + formatCodePoint(*codePoint) + " at byte " +
                   std::to_string(start) + "; use printable text only"};
    }
    characters++;
  }
  if (characters > maxLength) {
    return Error{prefix + std::to_string(characters) + " characters, the maximum is " +
                 std::to_string(maxLength)};
  }
  return okStatus();
}

Result<bssl::UniquePtr<X509_NAME>> buildSubjectName(std::string_view commonName,
                                                    std::string_view organizationalUnit) {
  bssl::UniquePtr<X509_NAME> name(X509_NAME_new());
  if (!name) {
    return boringSslError("cannot allocate a subject name");
  }
  auto addEntry = [&](int nid, std::string_view value) {
    return X509_NAME_add_entry_by_NID(name.get(), nid, MBSTRING_UTF8,
                                      reinterpret_cast<const uint8_t*>(value.data()),
                                      static_cast<int>(value.size()), -1, 0) == 1;
  };
  if (!organizationalUnit.empty() && !addEntry(NID_organizationalUnitName, organizationalUnit)) {
    return boringSslError("cannot encode the organizational unit");
  }
  if (!addEntry(NID_commonName, commonName)) {
    return boringSslError("cannot encode the common name");
  }
  return name;
}

std::string formatNameRfc4514(const X509_NAME* name) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, flags) < 0) {
    takeBoringSslReason();
    return "(unprintable name)";
  }
  const uint8_t* data = nullptr;
  size_t length = 0;
  BIO_mem_contents(bio.get(), &data, &length);
  return escapeC1Controls(std::string_view(reinterpret_cast<const char*>(data), length));
}

std::string commonNameOf(const X509_NAME* name) {
  int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) {
    return "";
  }
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  uint8_t* utf8 = nullptr;
  int length = ASN1_STRING_to_UTF8(&utf8, value);
  if (length < 0) {
    takeBoringSslReason();
    return "";
  }
  std::string text(reinterpret_cast<char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  return text;
}

}  // namespace gw::pki
