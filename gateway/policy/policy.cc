#include "gateway/policy/policy.h"

#include <algorithm>

namespace gw::policy {

bool prefixMatches(std::string_view prefix, std::string_view path) {
  if (!path.starts_with(prefix)) {
    return false;
  }
  if (path.size() == prefix.size() || prefix.ends_with('/')) {
    return true;
  }
  return path[prefix.size()] == '/';
}

Policy::Policy(const config::PolicyConfig& config) {
  for (const config::RouteConfig& route : config.routes) {
    routes_.push_back(
        Route{route.prefix, route.exact, route.upstream, route.allow_cn, route.source});
  }
}

const Route* Policy::match(std::string_view path) const {
  const Route* best = nullptr;
  for (const Route& route : routes_) {
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
  return best;
}

Decision Policy::decide(const Identity& identity, std::string_view path) const {
  Decision decision;
  decision.route = match(path);
  if (decision.route == nullptr) {
    decision.verdict = Verdict::NoRoute;
    decision.reason = "no route matches the path";
    return decision;
  }
  const std::vector<std::string>& allowed = decision.route->allow_cn;
  if (identity.cn_ambiguous) {
    decision.verdict = Verdict::Deny;
    decision.reason = "certificate has more than one CN";
  } else if (identity.cn.empty()) {
    decision.verdict = Verdict::Deny;
    decision.reason = "certificate has no CN";
  } else if (std::find(allowed.begin(), allowed.end(), identity.cn) == allowed.end()) {
    decision.verdict = Verdict::Deny;
    decision.reason = "CN not in allow_cn";
  } else {
    decision.verdict = Verdict::Allow;
    decision.reason = "CN in allow_cn";
  }
  return decision;
}

}  // namespace gw::policy
