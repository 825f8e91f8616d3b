// ASCII helpers for protocol text (header names, host names, hex). They
// ignore the locale, as HTTP and TOML require.
#pragma once

#include <string>
#include <string_view>

namespace gw::ascii {

inline char toLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

inline std::string toLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = toLower(c);
  }
  return out;
}

// hexValue returns the value of the hex digit |c|, or -1.
inline int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// isTokenChar reports whether |c| may appear in an HTTP token such as a
// header name (RFC 9110, section 5.6.2).
inline bool isTokenChar(char c) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         kSpecials.find(c) != std::string_view::npos;
}

}  // namespace gw::ascii
