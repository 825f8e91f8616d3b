// HTTP/1.1 message heads as plain data, shared by the parser, the header
// rewriting and the proxy.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gw::http {

struct Header {
  std::string name;
  std::string value;
};

// MessageHead is a parsed request or response head. Only the fields of its
// kind are set: method and target for requests, status and reason for
// responses.
struct MessageHead {
  std::string method;
  std::string target;
  int status = 0;
  std::string reason;
  int version_major = 1;
  int version_minor = 1;
  std::vector<Header> headers;

  // Framing, as the parser determined it.
  bool chunked = false;
  bool has_content_length = false;
  uint64_t content_length = 0;
  bool keep_alive = true;  // the peer allows another message on this connection
  bool upgrade = false;

  // find returns the value of the first header named |name| (any case), or
  // null.
  const std::string* find(std::string_view name) const;
};

// equalsIgnoreCase compares two ASCII strings without regard to case.
bool equalsIgnoreCase(std::string_view a, std::string_view b);

// reasonPhrase returns the standard reason phrase of |status|, or "Unknown".
const char* reasonPhrase(int status);

}  // namespace gw::http
