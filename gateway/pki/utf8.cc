#include "gateway/pki/utf8.h"

namespace gw::pki {
namespace {

// Utf8Lead describes a UTF-8 lead byte: how many continuation bytes follow,
// the payload bits it carries, and the smallest code point that needs this
// many bytes (anything below is an overlong encoding).
struct Utf8Lead {
  size_t continuationBytes;
  uint32_t bits;
  uint32_t minimum;
};

std::optional<Utf8Lead> classifyLead(uint8_t lead) {
  if (lead < 0x80) {
    return Utf8Lead{0, lead, 0};
  }
  if ((lead & 0xe0) == 0xc0) {
    return Utf8Lead{1, lead & 0x1fu, 0x80};
  }
  if ((lead & 0xf0) == 0xe0) {
    return Utf8Lead{2, lead & 0x0fu, 0x800};
  }
  if ((lead & 0xf8) == 0xf0) {
    return Utf8Lead{3, lead & 0x07u, 0x10000};
  }
  return std::nullopt;
}

}  // namespace

std::optional<uint32_t> decodeUtf8(std::string_view text, size_t* pos) {
  std::optional<Utf8Lead> lead = classifyLead(static_cast<uint8_t>(text[*pos]));
  if (!lead || text.size() - *pos <= lead->continuationBytes) {
    return std::nullopt;
  }
  uint32_t codePoint = lead->bits;
  for (size_t i = 1; i <= lead->continuationBytes; i++) {
    auto next = static_cast<uint8_t>(text[*pos + i]);
    if ((next & 0xc0) != 0x80) {
      return std::nullopt;
    }
    codePoint = (codePoint << 6) | (next & 0x3fu);
  }
  bool surrogate = codePoint >= 0xd800 && codePoint <= 0xdfff;
  if (codePoint < lead->minimum || codePoint > 0x10ffff || surrogate) {
    return std::nullopt;
  }
  *pos += lead->continuationBytes + 1;
  return codePoint;
}

std::optional<std::string> encodeUtf16BigEndian(std::string_view text) {
  std::string encoded;
  size_t pos = 0;
  while (pos < text.size()) {
    std::optional<uint32_t> codePoint = decodeUtf8(text, &pos);
    if (!codePoint || *codePoint > 0xffff) {
      return std::nullopt;
    }
    encoded += static_cast<char>(*codePoint >> 8);
    encoded += static_cast<char>(*codePoint & 0xff);
  }
  return encoded;
}

}  // namespace gw::pki
