// Encoder for PKCS#12 files with PBES2/AES-256-CBC and an HMAC-SHA256 MAC.
// Internal to pkcs12.cc; the public entry point is encodePkcs12.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/common/result.h"
#include "gateway/pki/pkcs12.h"

namespace gw::pki {

// encodeModernPkcs12 implements encodePkcs12 for Pkcs12Format::Modern with
// |iterations| PBKDF2 and MAC iterations. |password| must have passed
// validatePkcs12Password and |friendlyNameUtf16| is the friendly name
// already encoded as big-endian UTF-16 (empty for none).
Result<std::string> encodeModernPkcs12(const Pkcs12Contents& contents, std::string_view password,
                                       std::string_view friendlyNameUtf16, uint32_t iterations);

// derivePkcs12Key implements the PKCS#12 key derivation of RFC 7292,
// appendix B.2, with SHA-256, for outputs of at most 32 bytes (one hash
// block). |passwordBmp| is the password as a NUL-terminated BMPString and
// |id| the purpose byte (3 for MAC keys). Exposed for tests.
Result<std::string> derivePkcs12Key(std::string_view passwordBmp, std::string_view salt, uint8_t id,
                                    uint32_t iterations, size_t keyLen);

}  // namespace gw::pki
