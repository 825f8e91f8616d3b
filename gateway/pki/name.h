// Subject names: validation of the text a user supplies, building an
// X509_NAME, and printing one in RFC 4514 form.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <openssl/x509.h>

#include "gateway/common/result.h"

namespace gw::pki {

// kMaxNameLength is the upper bound RFC 5280 (appendix A.1) sets for
// ub-common-name and ub-organizational-unit-name, in characters.
inline constexpr size_t kMaxNameLength = 64;

// validateNameText checks a subject attribute value given on the command line.
// It fails, naming |field| (for example "--cn"), when |value| is empty, longer
// than |maxLength| characters, not valid UTF-8, or contains a control
// character (U+0000-U+001F, U+007F-U+009F), which includes an embedded NUL.
Status validateNameText(std::string_view field, std::string_view value,
                        size_t maxLength = kMaxNameLength);

// buildSubjectName returns a name with the commonName |commonName| and, when
// |organizationalUnit| is not empty, an organizationalUnitName before it. Both
// values must already have passed validateNameText. The caller owns the name.
Result<bssl::UniquePtr<X509_NAME>> buildSubjectName(std::string_view commonName,
                                                    std::string_view organizationalUnit);

// formatNameRfc4514 returns |name| as an RFC 4514 string, most specific
// attribute first ("CN=good-client,OU=ops"). Special characters are escaped
// as RFC 4514 requires and control characters as \XX; UTF-8 text is kept.
std::string formatNameRfc4514(const X509_NAME* name);

// commonNameOf returns the first commonName of |name| as UTF-8, or an empty
// string when there is none.
std::string commonNameOf(const X509_NAME* name);

}  // namespace gw::pki
