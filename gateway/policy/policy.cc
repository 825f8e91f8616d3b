#include "gateway/policy/policy.h"

#include <algorithm>
#include <unordered_set>

#include "gateway/common/ascii.h"

namespace gw::policy {
namespace {

bool parseField(std::string_view name, Field* out) {
  static constexpr std::pair<std::string_view, Field> kFields[] = {
      {"cn", Field::Cn},   {"o", Field::O},           {"ou", Field::Ou},
      {"dns", Field::Dns}, {"uri", Field::Uri},       {"email", Field::Email},
      {"ip", Field::Ip},   {"issuer", Field::Issuer}, {"fingerprint", Field::Fingerprint}};
  for (const auto& [key, field] : kFields) {
    if (key == name) {
      *out = field;
      return true;
    }
  }
  return false;
}

bool dnsMatches(std::string_view pattern, std::string_view name) {
  if (!pattern.starts_with("*.")) {
    return pattern == name;
  }
  // "*.example.com" matches "a.example.com" but not "example.com" or
  // "a.b.example.com".
  std::string_view suffix = pattern.substr(1);
  if (name.size() <= suffix.size() || !name.ends_with(suffix)) {
    return false;
  }
  std::string_view label = name.substr(0, name.size() - suffix.size());
  return label.find('.') == std::string_view::npos;
}

bool uriMatches(std::string_view pattern, std::string_view uri) {
  if (!pattern.ends_with("/*")) {
    return pattern == uri;
  }
  std::string_view base = pattern.substr(0, pattern.size() - 1);  // keeps the '/'
  return uri.size() > base.size() && uri.starts_with(base);
}

bool anyMatches(const std::vector<std::string>& values, std::string_view pattern,
                bool (*matches)(std::string_view, std::string_view)) {
  for (const std::string& value : values) {
    if (matches(pattern, value)) {
      return true;
    }
  }
  return false;
}

bool equal(std::string_view a, std::string_view b) {
  return a == b;
}

bool conditionMatches(const Condition& condition, const Identity& identity) {
  switch (condition.field) {
    case Field::Cn:
      return !identity.cn_ambiguous && !identity.cn.empty() && identity.cn == condition.value;
    case Field::O:
      return anyMatches(identity.o, condition.value, equal);
    case Field::Ou:
      return anyMatches(identity.ou, condition.value, equal);
    case Field::Dns:
      return anyMatches(identity.dns, condition.value, dnsMatches);
    case Field::Uri:
      return anyMatches(identity.uri, condition.value, uriMatches);
    case Field::Email:
      return anyMatches(identity.email, condition.value, equal);
    case Field::Ip:
      return anyMatches(identity.ip, condition.value, equal);
    case Field::Issuer:
      return identity.issuer == condition.value;
    case Field::Fingerprint:
      return identity.fingerprint_sha256 == condition.value;
  }
  return false;
}

Rule makeRule(const config::RuleConfig& config, const std::string& id) {
  Rule rule;
  rule.id = id;
  for (const config::RuleConfig::Condition& condition : config.conditions) {
    Field field;
    if (parseField(condition.field, &field)) {
      rule.conditions.push_back({field, condition.value});
    }
  }
  return rule;
}

// firstMatch returns the first rule of |rules| that matches, using |index|
// so that the cost does not grow with the number of cn and fingerprint
// rules. It gives the same rule as a scan in order.
const Rule* firstMatch(const std::vector<Rule>& rules, const RuleIndex& index,
                       const Identity& identity) {
  size_t best = rules.size();
  if (!identity.cn_ambiguous && !identity.cn.empty()) {
    if (auto found = index.by_cn.find(identity.cn); found != index.by_cn.end()) {
      best = found->second;
    }
  }
  if (auto found = index.by_fingerprint.find(identity.fingerprint_sha256);
      found != index.by_fingerprint.end() && found->second < best) {
    best = found->second;
  }
  for (size_t position : index.scanned) {
    if (position >= best) {
      break;
    }
    if (ruleMatches(rules[position], identity, nullptr)) {
      best = position;
      break;
    }
  }
  return best < rules.size() ? &rules[best] : nullptr;
}

// evaluate returns the first rule of |rules| that matches. With a trace it
// evaluates every rule in order and records each result.
const Rule* evaluate(const std::vector<Rule>& rules, const RuleIndex& index, bool deny,
                     const Identity& identity, std::vector<RuleTrace>* trace) {
  if (trace == nullptr) {
    return firstMatch(rules, index, identity);
  }
  const Rule* first = nullptr;
  for (const Rule& rule : rules) {
    std::string why;
    bool matched = ruleMatches(rule, identity, &why);
    if (trace != nullptr) {
      trace->push_back({rule.id, deny, matched, matched ? "all conditions match" : why});
    }
    if (matched && first == nullptr) {
      first = &rule;
    }
  }
  return first;
}

}  // namespace

const char* fieldName(Field field) {
  switch (field) {
    case Field::Cn:
      return "cn";
    case Field::O:
      return "o";
    case Field::Ou:
      return "ou";
    case Field::Dns:
      return "dns";
    case Field::Uri:
      return "uri";
    case Field::Email:
      return "email";
    case Field::Ip:
      return "ip";
    case Field::Issuer:
      return "issuer";
    case Field::Fingerprint:
      return "fingerprint";
  }
  return "?";
}

void RuleIndex::build(const std::vector<Rule>& rules) {
  for (size_t i = 0; i < rules.size(); i++) {
    const Rule& rule = rules[i];
    if (rule.conditions.size() == 1 && rule.conditions[0].field == Field::Cn) {
      by_cn.emplace(rule.conditions[0].value, i);  // keeps the first index
    } else if (rule.conditions.size() == 1 && rule.conditions[0].field == Field::Fingerprint) {
      by_fingerprint.emplace(rule.conditions[0].value, i);
    } else {
      scanned.push_back(i);
    }
  }
}

bool prefixMatches(std::string_view prefix, std::string_view path) {
  if (!path.starts_with(prefix)) {
    return false;
  }
  if (path.size() == prefix.size() || prefix.ends_with('/')) {
    return true;
  }
  return path[prefix.size()] == '/';
}

bool ruleMatches(const Rule& rule, const Identity& identity, std::string* out_why) {
  if (rule.conditions.empty()) {
    if (out_why != nullptr) {
      *out_why = "rule has no conditions";
    }
    return false;
  }
  for (const Condition& condition : rule.conditions) {
    if (!conditionMatches(condition, identity)) {
      if (out_why != nullptr) {
        *out_why =
            std::string(fieldName(condition.field)) + " does not match '" + condition.value + "'";
        if (condition.field == Field::Cn && identity.cn_ambiguous) {
          *out_why += " (certificate has more than one CN)";
        }
      }
      return false;
    }
  }
  return true;
}

// headerNameKey folds a header name the way the gateway compares identity
// header names: ASCII case ignored and '_' read as '-'.
static std::string headerNameKey(std::string_view name) {
  std::string key = ascii::toLower(name);
  std::replace(key.begin(), key.end(), '_', '-');
  return key;
}

Policy::Policy(const config::PolicyConfig& config) {
  std::unordered_set<std::string> seen_header_names;
  for (const config::RouteConfig& route_config : config.routes) {
    const config::IdentityHeaderNames& names = route_config.headers;
    for (const std::string* name : names.all()) {
      if (!name->empty() && seen_header_names.insert(headerNameKey(*name)).second) {
        identity_header_names_.push_back(*name);
      }
    }
    Route route;
    route.host = ascii::toLower(route_config.host);
    route.prefix = route_config.prefix;
    route.exact = route_config.exact;
    route.upstream = route_config.upstream;
    route.allow_cn = route_config.allow_cn;
    route.source = route_config.source;
    route.headers = route_config.headers;
    route.is_public = route_config.is_public;
    route.has_own_trust = !route_config.client_ca_file.empty();
    for (size_t i = 0; i < route_config.allow_cn.size(); i++) {
      Rule rule;
      rule.id = route.source + " allow_cn[" + std::to_string(i) + "]";
      rule.conditions.push_back({Field::Cn, route_config.allow_cn[i]});
      route.allow.push_back(std::move(rule));
    }
    for (size_t i = 0; i < route_config.allow.size(); i++) {
      route.allow.push_back(
          makeRule(route_config.allow[i],
                   route_config.allow[i].source + " allow[" + std::to_string(i) + "]"));
    }
    for (size_t i = 0; i < route_config.deny.size(); i++) {
      route.deny.push_back(makeRule(
          route_config.deny[i], route_config.deny[i].source + " deny[" + std::to_string(i) + "]"));
    }
    route.allow_index.build(route.allow);
    route.deny_index.build(route.deny);
    has_host_routes_ = has_host_routes_ || !route.host.empty();
    routes_.push_back(std::move(route));
  }
}

const Route* Policy::match(std::string_view host, std::string_view path) const {
  std::string wanted = ascii::toLower(host);
  // Two tiers: routes for this host, then routes for any host.
  for (bool host_tier : {true, false}) {
    const Route* best = nullptr;
    for (const Route& route : routes_) {
      if (host_tier ? (route.host.empty() || route.host != wanted) : !route.host.empty()) {
        continue;
      }
      if (!route.exact.empty()) {
        if (route.exact == path) {
          return &route;
        }
        continue;
      }
      if (prefixMatches(route.prefix, path) &&
          (best == nullptr || route.prefix.size() > best->prefix.size())) {
        best = &route;
      }
    }
    if (best != nullptr) {
      return best;
    }
  }
  return nullptr;
}

Decision Policy::decide(const Identity& identity, std::string_view host, std::string_view path,
                        std::vector<RuleTrace>* trace) const {
  Decision decision;
  decision.route = match(host, path);
  decision.rule = "-";
  if (decision.route == nullptr) {
    decision.verdict = Verdict::NoRoute;
    decision.reason = "no route matches the path";
    return decision;
  }
  const Route& route = *decision.route;
  if (route.is_public) {
    decision.verdict = Verdict::Allow;
    decision.rule = route.source + " public";
    decision.reason = "public route";
    return decision;
  }
  if (identity.fingerprint_sha256.empty()) {
    decision.verdict = Verdict::Deny;
    decision.needs_certificate = true;
    decision.reason = "no client certificate";
    return decision;
  }
  const Rule* denied = evaluate(route.deny, route.deny_index, true, identity, trace);
  const Rule* allowed = evaluate(route.allow, route.allow_index, false, identity, trace);
  if (denied != nullptr) {
    decision.verdict = Verdict::Deny;
    decision.rule = denied->id;
    decision.reason = "matched a deny rule";
  } else if (allowed != nullptr) {
    decision.verdict = Verdict::Allow;
    decision.rule = allowed->id;
    decision.reason = "matched an allow rule";
  } else {
    decision.verdict = Verdict::Deny;
    decision.reason = identity.cn_ambiguous ? "no allow rule matches (certificate has more "
                                              "than one CN)"
                                            : "no allow rule matches";
  }
  return decision;
}

}  // namespace gw::policy
