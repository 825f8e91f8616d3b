// Error text from BoringSSL's thread-local error queue.
#pragma once

#include <string>
#include <string_view>

#include "gateway/common/result.h"

namespace gw::pki {

// takeBoringSslReason removes every entry from BoringSSL's error queue and
// returns the reason of the oldest one (for example "KEY_VALUES_MISMATCH"),
// or "no BoringSSL error recorded" when the queue is empty.
std::string takeBoringSslReason();

// boringSslError returns an Error reading "|what| (BoringSSL: REASON)" and
// clears the error queue.
Error boringSslError(std::string_view what);

}  // namespace gw::pki
