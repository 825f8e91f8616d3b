// Request-target checks. The gateway authorizes the path it forwards, so a
// path that a later hop could read differently from the gateway ("/a/../b",
// "%2e%2e", "\\", "//") is rejected rather than guessed at.
#pragma once

#include <string>
#include <string_view>

namespace gw::http {

struct TargetCheck {
  bool ok = false;
  std::string path;    // the path component (no query), when ok
  std::string reason;  // why the target was rejected, when not ok
};

// checkTarget validates an origin-form request target ("/path?query") and
// returns its path. It rejects other forms (absolute, authority, asterisk),
// dot segments, empty segments, backslashes, control characters, and
// percent-encoded '/', '\\', '.', '%' and control characters.
TargetCheck checkTarget(std::string_view target);

}  // namespace gw::http
