// UTF-8 decoding for text that goes into ASN.1 strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gw::pki {

// decodeUtf8 reads the code point of |text| that starts at byte |*pos| and
// advances |*pos| past it. It returns nullopt, leaving |*pos| unchanged, for a
// truncated or overlong sequence, a surrogate, or a value above U+10FFFF.
// |*pos| must be less than |text.size()|.
std::optional<uint32_t> decodeUtf8(std::string_view text, size_t* pos);

// encodeUtf16BigEndian converts UTF-8 |text| to the big-endian UTF-16 used by
// an ASN.1 BMPString. It returns nullopt if |text| is not valid UTF-8 or has a
// code point above U+FFFF, which a BMPString cannot hold.
std::optional<std::string> encodeUtf16BigEndian(std::string_view text);

}  // namespace gw::pki
