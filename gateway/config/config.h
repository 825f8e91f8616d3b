// Configuration as plain structs. config/load.cc fills them from TOML files
// (conf/gateway.toml and the policy file it names); nothing outside config/
// sees toml++ types. Paths in these structs are already resolved against the
// directory of the file that named them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace gw::config {

// ListenAddress is one "HOST:PORT" the gateway accepts connections on. IPv6
// hosts are written in brackets in the file ("[::1]:4443") and stored here
// without them.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};

struct TlsConfig {
  std::string cert_file;            // server certificate (PEM); may contain the chain too
  std::string key_file;             // server private key (PEM)
  std::string chain_file;           // extra certificates sent after the leaf; empty for none
  std::string client_ca_file;       // CA certificates that client certificates must chain to
  std::string crl_file;             // optional CRL (PEM) checked for every client certificate
  std::string min_version = "1.3";  // "1.2" or "1.3"
  // "require": the handshake fails without a client certificate. "request":
  // the handshake requests one but continues without, and each route
  // decides (routes require one unless they are public).
  std::string client_cert = "require";
  std::string ticket_key_file;  // shared session ticket keys; empty: random per process
};

// Timeouts in milliseconds. Each protects the gateway from a peer that stops
// making progress.
struct Timeouts {
  uint32_t handshake_ms = 10'000;
  uint32_t request_header_ms = 30'000;
  uint32_t request_body_ms = 30'000;  // a held request body, see Limits::request_buffer_bytes
  uint32_t idle_ms = 60'000;
  uint32_t upstream_connect_ms = 5'000;
  uint32_t upstream_response_ms = 60'000;
};

struct Limits {
  uint32_t max_header_bytes = 16 * 1024;
  uint64_t max_body_bytes = 4ull << 30;  // request body; larger ones get 413
  uint32_t max_connections = 8'000;
  // A request body up to this size is received whole before anything of
  // the request goes upstream, so a body with broken framing reaches no
  // upstream. Larger bodies, and those behind Expect: 100-continue, stream.
  uint32_t request_buffer_bytes = 64 * 1024;
};

struct UpstreamConfig {
  std::string name;
  std::string host;  // the first address, for single-address upstreams
  uint16_t port = 0;
  std::vector<ListenAddress> addresses;  // balanced round robin
};

// RuleConfig is one allow or deny rule: certificate fields and the values
// they must have. A rule matches when every condition matches.
struct RuleConfig {
  struct Condition {
    std::string field;  // cn, o, ou, dns, uri, email, ip, issuer or fingerprint
    std::string value;
  };
  std::vector<Condition> conditions;
  std::string source;  // "policy.toml:12"
};

// IdentityHeaderNames are the request headers that carry the verified
// identity to the upstream. An empty name leaves that header out. The RFC
// 9440 headers (the certificate as ":BASE64-DER:") are off by default.
struct IdentityHeaderNames {
  std::string cn = "X-Client-CN";
  std::string subject = "X-Client-Subject";
  std::string issuer = "X-Client-Issuer";
  std::string serial = "X-Client-Serial";
  std::string fingerprint = "X-Client-Cert-Sha256";
  std::string sans = "X-Client-SAN";
  std::string not_after = "X-Client-Not-After";
  std::string client_cert;        // RFC 9440 Client-Cert, e.g. "Client-Cert"
  std::string client_cert_chain;  // RFC 9440 Client-Cert-Chain

  // all lists every name field, those turned off (empty) included.
  std::array<const std::string*, 9> all() const {
    return {&cn,   &subject,   &issuer,      &serial,           &fingerprint,
            &sans, &not_after, &client_cert, &client_cert_chain};
  }
};

struct RouteConfig {
  // Exactly one of |prefix| and |exact| is set. A prefix matches the path
  // itself and anything below it on a segment boundary: "/secret" matches
  // "/secret", "/secret/" and "/secret/a", never "/secretive".
  std::string prefix;
  std::string exact;
  std::string host;  // lowercase; empty matches any host
  std::string upstream;
  std::vector<std::string> allow_cn;  // shorthand for allow rules with one cn each
  std::vector<RuleConfig> allow;
  std::vector<RuleConfig> deny;
  IdentityHeaderNames headers;
  // A public route needs no client certificate and applies no rules (with
  // [tls] client_cert = "request"); its requests carry no identity headers.
  bool is_public = false;
  // Optional CA file (and CRL) narrowing which issuers this route accepts,
  // beyond the handshake's [tls] client_ca.
  std::string client_ca_file;
  std::string crl_file;
  std::string source;  // "policy.toml:12" where the route is defined
};

struct PolicyConfig {
  std::string file;
  bool watch = false;  // reload when the policy file changes, as on SIGHUP
  std::vector<UpstreamConfig> upstreams;
  std::vector<RouteConfig> routes;
};

struct GatewayConfig {
  std::string file;
  std::vector<ListenAddress> listen;
  TlsConfig tls;
  Timeouts timeouts;
  Limits limits;
  PolicyConfig policy;
  std::string log_level = "info";
  std::string log_format = "text";  // "text" (key=value) or "json" (one object per line)
  std::string log_file;             // append logs here instead of stderr; empty: stderr
  // Worker threads, each with its own event loop, listening sockets and
  // connections. kWorkersAuto means one per online CPU.
  uint32_t workers = 1;
  static constexpr uint32_t kWorkersAuto = 0;
  static constexpr uint32_t kMaxWorkers = 256;
  // Admin listener (plain HTTP: /metrics, /healthz, /readyz, /identities);
  // disabled when |has_admin| is false.
  bool has_admin = false;
  ListenAddress admin;
};

}  // namespace gw::config
