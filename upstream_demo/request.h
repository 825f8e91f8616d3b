// The parsed head of one HTTP request, independent of llhttp and libuv so that
// routes can be built and tested on plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace demo {

// One header field as received, name case preserved and value without
// surrounding whitespace.
struct Header {
  std::string name;
  std::string value;
};

// The request line and header section of one request.
struct RequestHead {
  std::string method;
  // The request-target exactly as received, query string included.
  std::string target;
  // Headers in the order received. Repeated names stay separate entries.
  std::vector<Header> headers;
  uint8_t httpMajor = 1;
  uint8_t httpMinor = 1;
  // True when another request may follow on the connection: HTTP/1.1 without
  // "Connection: close", or HTTP/1.0 with "Connection: keep-alive".
  bool keepAlive = true;

  // Returns the value of the first header named |name|, compared without
  // regard to ASCII case, or nullptr when there is none.
  const std::string* findHeader(std::string_view name) const;

  bool isHttp11OrLater() const { return httpMajor > 1 || (httpMajor == 1 && httpMinor >= 1); }
};

}  // namespace demo
