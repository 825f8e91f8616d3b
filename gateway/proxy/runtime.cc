#include "gateway/proxy/runtime.h"

#include <arpa/inet.h>
#include <cstring>
#include <netdb.h>

#include "gateway/tls/tls_context.h"

namespace gw::proxy {
namespace {

Result<UpstreamAddress> resolve(const config::UpstreamConfig& upstream) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port = std::to_string(upstream.port);
  int rc = getaddrinfo(upstream.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    return Error{"upstream '" + upstream.name + "': cannot resolve host '" + upstream.host +
                 "': " + gai_strerror(rc)};
  }
  UpstreamAddress result;
  result.name = upstream.name;
  memset(&result.address, 0, sizeof(result.address));
  memcpy(&result.address, found->ai_addr, found->ai_addrlen);
  freeaddrinfo(found);
  result.display = formatAddress(reinterpret_cast<const sockaddr*>(&result.address));
  return result;
}

}  // namespace

std::string formatAddress(const sockaddr* address) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (address->sa_family == AF_INET) {
    auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
    return std::string(host) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  if (address->sa_family == AF_INET6) {
    auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(v6->sin6_port));
  }
  return "?";
}

Result<std::shared_ptr<const Runtime>> buildRuntime(config::GatewayConfig config) {
  auto tls = tls::createServerContext(config.tls);
  if (!tls) {
    return Error{tls.error()};
  }
  std::map<std::string, UpstreamAddress> upstreams;
  for (const config::UpstreamConfig& upstream : config.policy.upstreams) {
    auto address = resolve(upstream);
    if (!address) {
      return Error{address.error()};
    }
    upstreams[upstream.name] = std::move(*address);
  }
  auto runtime = std::make_shared<Runtime>(std::move(config), std::move(*tls));
  runtime->upstreams = std::move(upstreams);
  runtime->expiries = tls::certificateExpiries(runtime->config.tls);
  return std::shared_ptr<const Runtime>(std::move(runtime));
}

}  // namespace gw::proxy
