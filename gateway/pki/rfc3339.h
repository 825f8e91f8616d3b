// UTC timestamps in the RFC 3339 form used on the command line and in the CA
// record, for example "2026-01-02T03:04:05Z".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/common/result.h"

namespace gw::pki {

// parseRfc3339Utc parses "YYYY-MM-DDTHH:MM:SSZ" (a lowercase 't' or 'z' is
// accepted, as RFC 3339 allows) into seconds since the Unix epoch. Fractional
// seconds, numeric offsets and leap seconds are rejected, as are years outside
// 1950-9999, the range an X.509 certificate can carry. The error names
// |text| and the expected form.
Result<int64_t> parseRfc3339Utc(std::string_view text);

// formatRfc3339Utc formats |unixSeconds| as "YYYY-MM-DDTHH:MM:SSZ".
std::string formatRfc3339Utc(int64_t unixSeconds);

}  // namespace gw::pki
