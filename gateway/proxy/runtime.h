// Runtime: everything a connection needs that comes from configuration: the
// TLS context, the policy and the resolved upstream addresses. A Runtime is
// immutable once built; a reload builds a new one and swaps the pointer, and
// connections keep the Runtime they started with.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "gateway/common/result.h"
#include "gateway/config/config.h"
#include "gateway/policy/policy.h"
#include "gateway/tls/tls_context.h"

namespace gw::proxy {

struct UpstreamAddress {
  std::string name;
  std::string display;  // "127.0.0.1:8080"
  sockaddr_storage address;
};

// Upstream is a named group of addresses, balanced round robin.
struct Upstream {
  std::string name;
  std::vector<UpstreamAddress> addresses;
  std::string display;  // "127.0.0.1:8080, 127.0.0.1:8081"
};

// ConfigWarning is a problem in the configured files that does not stop the
// gateway but that an operator should fix, for example a key file other
// users can read. check-config prints it and serve logs it at start and on
// every reload.
struct ConfigWarning {
  std::string file;
  std::string problem;
  std::string fix;
};

struct Runtime {
  config::GatewayConfig config;
  bssl::UniquePtr<SSL_CTX> tls;
  policy::Policy policy;
  std::map<std::string, Upstream> upstreams;
  // The server certificate, the client CAs and (role "crl") the next
  // update of each configured CRL.
  std::vector<tls::CertificateExpiry> expiries;
  std::vector<ConfigWarning> warnings;
  // Trust of routes with their own client_ca, by route source.
  std::map<std::string, std::unique_ptr<const tls::ClientTrust>> route_trust;
  uint64_t version = 0;  // increases with every reload

  Runtime(config::GatewayConfig c, bssl::UniquePtr<SSL_CTX> t)
      : config(std::move(c)), tls(std::move(t)), policy(config.policy) {}
};

// buildRuntime loads the TLS material and resolves upstream host names
// (blocking, at start and on reload). Errors name the file or upstream. It
// rejects a file path that is a directory, a client CA file containing a
// certificate that is not a CA, and a server certificate that is expired,
// not yet valid or whose extended key usage lacks serverAuth. It stores
// warnings for an expired or not yet valid CRL and for a private key or
// ticket key file readable by group or others.
Result<std::shared_ptr<const Runtime>> buildRuntime(config::GatewayConfig config);

// logConfigWarnings logs each warning of |runtime| as config.warning.
void logConfigWarnings(const Runtime& runtime);

// toSockaddr converts a configured "HOST:PORT" ("localhost" meaning
// 127.0.0.1) to a socket address; it returns 0 or a libuv error.
int toSockaddr(const config::ListenAddress& address, sockaddr_storage* out);

// listenAddressText renders a configured address as "1.2.3.4:80" or
// "[::1]:80", for messages.
std::string listenAddressText(const config::ListenAddress& address);

// formatAddress renders a socket address as "1.2.3.4:80" or "[::1]:80".
std::string formatAddress(const sockaddr* address);

}  // namespace gw::proxy
