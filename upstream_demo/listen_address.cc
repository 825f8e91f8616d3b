#include "upstream_demo/listen_address.h"

#include <charconv>
#include <cstdint>
#include <cstring>

namespace demo {
namespace {

bool parsePort(std::string_view text, int* out) {
  uint16_t port = 0;
  auto [rest, error] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (text.empty() || error != std::errc() || rest != text.data() + text.size()) {
    return false;
  }
  *out = port;
  return true;
}

}  // namespace

std::string parseListenAddress(std::string_view text, sockaddr_storage* out) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return "invalid listen address \"" + std::string(text) +
           "\": expected HOST:PORT, for example 127.0.0.1:8080 or [::1]:8080";
  }

  std::string_view host = text.substr(0, colon);
  int port = 0;
  if (!parsePort(text.substr(colon + 1), &port)) {
    return "invalid port in listen address \"" + std::string(text) +
           "\": expected a number from 0 to 65535";
  }

  memset(out, 0, sizeof(*out));
  bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) {
    std::string ip(host.substr(1, host.size() - 2));
    if (uv_ip6_addr(ip.c_str(), port, reinterpret_cast<sockaddr_in6*>(out)) != 0) {
      return "invalid IPv6 address \"" + ip + "\" in listen address";
    }
    return "";
  }

  std::string ip(host);
  if (uv_ip4_addr(ip.c_str(), port, reinterpret_cast<sockaddr_in*>(out)) != 0) {
    return "invalid IPv4 address \"" + ip +
           "\" in listen address: use a numeric address, and brackets for IPv6, "
           "for example [::1]:8080";
  }
  return "";
}

std::string formatAuthority(const sockaddr_storage& address) {
  char ip[64] = "";
  int port = 0;
  if (address.ss_family == AF_INET6) {
    const auto& ip6 = reinterpret_cast<const sockaddr_in6&>(address);
    uv_ip6_name(&ip6, ip, sizeof(ip));
    port = ntohs(ip6.sin6_port);
    return "[" + std::string(ip) + "]:" + std::to_string(port);
  }
  const auto& ip4 = reinterpret_cast<const sockaddr_in&>(address);
  uv_ip4_name(&ip4, ip, sizeof(ip));
  port = ntohs(ip4.sin_port);
  return std::string(ip) + ":" + std::to_string(port);
}

}  // namespace demo
