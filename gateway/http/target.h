// Request-target checks. The gateway authorizes the path it forwards, so a
// path that a later hop could read differently from the gateway ("/a/../b",
// "%2e%2e", "\\", "//") is rejected rather than guessed at.
#pragma once

#include <string>
#include <string_view>

namespace gw::http {

struct TargetCheck {
  bool ok = false;
  std::string path;    // the normalized path component (no query), when ok
  std::string target;  // the normalized path plus the query as sent, when ok
  std::string reason;  // why the target was rejected, when not ok
};

// checkTarget validates an origin-form request target ("/path?query") and
// normalizes its path: percent-encoded unreserved characters (letters,
// digits, '-', '_', '~') are decoded and other escapes get uppercase hex,
// so "/%73ecret" is matched and forwarded as "/secret". It rejects other
// forms (absolute, authority, asterisk), dot segments, empty segments,
// backslashes, ';' (matrix parameters, which some servers strip before
// routing), control characters, and percent-encoded '/', '\\', '.', '%'
// and control characters.
TargetCheck checkTarget(std::string_view target);

struct HostCheck {
  bool ok = false;
  std::string host;    // lowercase, without port and trailing dot, when ok
  std::string reason;  // when not ok
};

// checkHostHeader validates a Host header value ("name", "name:port",
// "[v6]:port") and returns the host name normalized for comparison.
HostCheck checkHostHeader(std::string_view value);

}  // namespace gw::http
