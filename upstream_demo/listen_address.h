// The --listen option: a numeric IPv4 or bracketed IPv6 address and a port.
#pragma once

#include <string>
#include <string_view>

#include <uv.h>

namespace demo {

// Parses "HOST:PORT", where HOST is a numeric IPv4 address or an IPv6
// address in brackets ("[::1]:8080") and PORT is 0 to 65535. On success
// stores the address in |out| and returns an empty string; otherwise
// returns a message naming what is invalid.
std::string parseListenAddress(std::string_view text, sockaddr_storage* out);

// Formats |address| as an http URL authority, e.g. "127.0.0.1:8080" or
// "[::1]:8080".
std::string formatAuthority(const sockaddr_storage& address);

}  // namespace demo
