#include "gateway/proxy/runtime.h"

#include <arpa/inet.h>
#include <cstring>
#include <netdb.h>

#include <uv.h>

#include "gateway/tls/tls_context.h"

namespace gw::proxy {
namespace {

Result<UpstreamAddress> resolve(const std::string& name, const config::ListenAddress& target) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port = std::to_string(target.port);
  int rc = getaddrinfo(target.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    return Error{"upstream '" + name + "': cannot resolve host '" + target.host +
                 "': " + gai_strerror(rc)};
  }
  UpstreamAddress result;
  result.name = name;
  memset(&result.address, 0, sizeof(result.address));
  memcpy(&result.address, found->ai_addr, found->ai_addrlen);
  freeaddrinfo(found);
  result.display = formatAddress(reinterpret_cast<const sockaddr*>(&result.address));
  return result;
}

}  // namespace

int toSockaddr(const config::ListenAddress& address, sockaddr_storage* out) {
  if (address.host.find(':') != std::string::npos) {
    return uv_ip6_addr(address.host.c_str(), address.port, reinterpret_cast<sockaddr_in6*>(out));
  }
  std::string host = address.host == "localhost" ? "127.0.0.1" : address.host;
  return uv_ip4_addr(host.c_str(), address.port, reinterpret_cast<sockaddr_in*>(out));
}

std::string listenAddressText(const config::ListenAddress& address) {
  std::string port = std::to_string(address.port);
  if (address.host.find(':') != std::string::npos) {
    return "[" + address.host + "]:" + port;
  }
  return address.host + ":" + port;
}

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
  std::map<std::string, Upstream> upstreams;
  for (const config::UpstreamConfig& config_upstream : config.policy.upstreams) {
    Upstream& upstream = upstreams[config_upstream.name];
    upstream.name = config_upstream.name;
    std::vector<config::ListenAddress> targets = config_upstream.addresses;
    if (targets.empty()) {
      targets.push_back({config_upstream.host, config_upstream.port});
    }
    for (const config::ListenAddress& target : targets) {
      auto address = resolve(config_upstream.name, target);
      if (!address) {
        return Error{address.error()};
      }
      upstream.display += (upstream.display.empty() ? "" : ", ") + address->display;
      upstream.addresses.push_back(std::move(*address));
    }
  }
  std::map<std::string, std::unique_ptr<const tls::ClientTrust>> route_trust;
  for (const config::RouteConfig& route : config.policy.routes) {
    if (route.client_ca_file.empty()) {
      continue;
    }
    auto trust = tls::loadRouteTrust(route.client_ca_file, route.crl_file);
    if (!trust) {
      return Error{"route at " + route.source + ": " + trust.error()};
    }
    route_trust[route.source] = std::move(*trust);
  }
  auto runtime = std::make_shared<Runtime>(std::move(config), std::move(*tls));
  runtime->route_trust = std::move(route_trust);
  runtime->upstreams = std::move(upstreams);
  runtime->expiries = tls::certificateExpiries(runtime->config.tls);
  return std::shared_ptr<const Runtime>(std::move(runtime));
}

}  // namespace gw::proxy
