// The access policy: which verified client identities may reach which route.
//
// Decisions are pure functions of the identity, the host and the request
// path: no I/O and no TLS types, so they can be tested and explained on
// their own. The policy is default-deny: a path with no route gets NoRoute
// (404), and a route allows a client only if one of its allow rules matches
// the certificate and none of its deny rules does.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gateway/config/config.h"

namespace gw::policy {

// Identity is the client's identity as read from its verified
// certificate. Every field comes from parsed certificate data.
struct Identity {
  // cn is the subject's commonName. It is empty when the subject has none,
  // and cn_ambiguous is set when it has more than one: such a certificate
  // matches no CN rule, because which CN counts would be a guess.
  std::string cn;
  bool cn_ambiguous = false;
  std::vector<std::string> o;             // subject organizationName values
  std::vector<std::string> ou;            // subject organizationalUnitName values
  std::vector<std::string> dns;           // SAN dNSName values, lowercase
  std::vector<std::string> uri;           // SAN uniformResourceIdentifier values
  std::vector<std::string> email;         // SAN rfc822Name values, lowercase
  std::vector<std::string> ip;            // SAN iPAddress values, as inet_ntop prints them
  std::string subject;                    // RFC 4514 string of the subject DN
  std::string issuer;                     // RFC 4514 string of the issuer DN
  std::string serial_hex;                 // serial number, uppercase hex
  std::string fingerprint_sha256;         // SHA-256 of the DER certificate, lowercase hex
  std::string not_after;                  // notAfter as "2027-01-02T03:04:05Z"
  std::string cert_base64;                // DER certificate in base64, for RFC 9440 headers
  std::vector<std::string> chain_base64;  // intermediates the client sent, base64 DER
};

enum class Field { Cn, O, Ou, Dns, Uri, Email, Ip, Issuer, Fingerprint };

// Condition compares one certificate field with one value. Values are
// exact, except that dns and email ignore case. The only globs are a
// leading "*." in dns, which matches exactly one label, and a trailing "/*"
// in uri, which matches anything below that path.
struct Condition {
  Field field;
  std::string value;
};

struct Rule {
  std::vector<Condition> conditions;  // all must match
  std::string id;                     // "policy.toml:12 allow[0]"
};

// RuleIndex finds the first matching rule of a list without scanning every
// rule: single-condition cn and fingerprint rules, the usual shape of large
// identity lists, are looked up by value; the rest are scanned in order.
struct RuleIndex {
  std::unordered_map<std::string, size_t> by_cn;           // value -> first rule index
  std::unordered_map<std::string, size_t> by_fingerprint;  // value -> first rule index
  std::vector<size_t> scanned;                             // other rules, in order

  void build(const std::vector<Rule>& rules);
};

struct Route {
  std::string host;    // empty matches any host
  std::string prefix;  // set for prefix routes
  std::string exact;   // set for exact routes
  std::string upstream;
  std::vector<std::string> allow_cn;  // as configured; also present in |allow|
  std::vector<Rule> allow;
  std::vector<Rule> deny;
  RuleIndex allow_index;
  RuleIndex deny_index;
  config::IdentityHeaderNames headers;
  bool is_public = false;
  bool has_own_trust = false;  // the route names its own client_ca
  std::string source;          // "FILE:LINE" of its definition

  // pattern returns the path as written in the policy ("/secret").
  const std::string& pattern() const { return exact.empty() ? prefix : exact; }
};

enum class Verdict { Allow, Deny, NoRoute };

struct Decision {
  Verdict verdict = Verdict::NoRoute;
  bool needs_certificate = false;  // denied because the client sent no certificate
  const Route* route = nullptr;    // borrowed from the Policy; null for NoRoute
  std::string rule;                // id of the deciding rule, "-" if none
  std::string reason;              // short text for logs, never sent to the client
};

// RuleTrace records how one rule was evaluated, for "certgate explain".
struct RuleTrace {
  std::string rule;
  bool deny = false;
  bool matched = false;
  std::string why;
};

class Policy {
 public:
  explicit Policy(const config::PolicyConfig& config);

  // match returns the route for |host| and |path|, or null. Routes naming
  // the host win over routes for any host; then exact routes win over
  // prefix routes, and a longer prefix over a shorter one.
  const Route* match(std::string_view host, std::string_view path) const;
  const Route* match(std::string_view path) const { return match("", path); }

  // decide applies the matching route's rules to |identity|. If |trace| is
  // not null, it receives one entry per rule evaluated.
  Decision decide(const Identity& identity, std::string_view host, std::string_view path,
                  std::vector<RuleTrace>* trace = nullptr) const;
  Decision decide(const Identity& identity, std::string_view path) const {
    return decide(identity, "", path);
  }

  const std::vector<Route>& routes() const { return routes_; }

  // hasHostRoutes reports whether any route names a host.
  bool hasHostRoutes() const { return has_host_routes_; }

  // identityHeaderNames lists every identity header name that some route
  // configures, each once (ignoring case, '_' read as '-'). A client's copy
  // of any of them is removed on every route, so that a route cannot pass
  // on a forged value of a header that another route sets.
  const std::vector<std::string>& identityHeaderNames() const { return identity_header_names_; }

 private:
  std::vector<Route> routes_;
  std::vector<std::string> identity_header_names_;
  bool has_host_routes_ = false;
};

// prefixMatches reports whether |path| is |prefix| or lies below it on a
// segment boundary ("/a" matches "/a", "/a/" and "/a/b", not "/ab").
bool prefixMatches(std::string_view prefix, std::string_view path);

// ruleMatches evaluates |rule| against |identity|; on no match, |out_why|
// (if not null) names the first condition that failed.
bool ruleMatches(const Rule& rule, const Identity& identity, std::string* out_why);

// fieldName returns the policy file key of |field| ("cn", "uri", ...).
const char* fieldName(Field field);

}  // namespace gw::policy
