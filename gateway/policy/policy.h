// The access policy: which verified client identities may reach which route.
//
// Decisions are pure functions of the identity and the request path: no I/O
// and no TLS types, so they can be tested and explained on their own. The
// policy is default-deny: a path with no route gets NoRoute (404), and a
// route allows only the identities it lists.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gateway/config/config.h"

namespace gw::policy {

// Identity is what the gateway knows about a client from its verified
// certificate.
struct Identity {
  // cn is the subject's commonName. It is empty when the subject has none,
  // and cn_ambiguous is set when it has more than one: such a certificate
  // matches no CN rule, because which CN counts would be a guess.
  std::string cn;
  bool cn_ambiguous = false;
  std::string subject;             // RFC 4514 string of the subject DN
  std::string issuer;              // RFC 4514 string of the issuer DN
  std::string serial_hex;          // serial number, uppercase hex
  std::string fingerprint_sha256;  // SHA-256 of the DER certificate, lowercase hex
};

struct Route {
  std::string prefix;  // set for prefix routes
  std::string exact;   // set for exact routes
  std::string upstream;
  std::vector<std::string> allow_cn;
  std::string source;  // "FILE:LINE" of its definition

  // pattern returns the path as written in the policy ("/secret").
  const std::string& pattern() const { return exact.empty() ? prefix : exact; }
};

enum class Verdict { Allow, Deny, NoRoute };

struct Decision {
  Verdict verdict = Verdict::NoRoute;
  const Route* route = nullptr;  // borrowed from the Policy; null for NoRoute
  std::string reason;            // short text for logs, never sent to the client
};

class Policy {
 public:
  explicit Policy(const config::PolicyConfig& config);

  // match returns the route for |path|, or null. Exact routes win over
  // prefix routes, and a longer prefix wins over a shorter one.
  const Route* match(std::string_view path) const;

  // decide applies the route for |path| to |identity|.
  Decision decide(const Identity& identity, std::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// prefixMatches reports whether |path| is |prefix| or lies below it on a
// segment boundary ("/a" matches "/a", "/a/" and "/a/b", not "/ab").
bool prefixMatches(std::string_view prefix, std::string_view path);

}  // namespace gw::policy
