#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "gateway/policy/policy.h"

namespace {

using gw::config::PolicyConfig;
using gw::config::RouteConfig;
using gw::config::RuleConfig;
using gw::policy::Identity;
using gw::policy::Policy;
using gw::policy::RuleTrace;
using gw::policy::Verdict;

RuleConfig rule(std::vector<RuleConfig::Condition> conditions) {
  RuleConfig config;
  config.conditions = std::move(conditions);
  config.source = "policy.toml:1";
  return config;
}

// policyWith builds one prefix route "/" with the given rules.
Policy policyWith(std::vector<RuleConfig> allow, std::vector<RuleConfig> deny = {}) {
  RouteConfig route;
  route.prefix = "/";
  route.upstream = "demo";
  route.allow = std::move(allow);
  route.deny = std::move(deny);
  route.source = "policy.toml:1";
  PolicyConfig config;
  config.routes.push_back(route);
  return Policy(config);
}

Identity workload() {
  Identity identity;
  identity.cn = "billing";
  identity.o = {"Corp"};
  identity.ou = {"payments", "ops"};
  identity.dns = {"billing.corp.example"};
  identity.uri = {"spiffe://corp/ns/prod/sa/billing"};
  identity.email = {"billing@corp.example"};
  identity.ip = {"10.1.2.3"};
  identity.issuer = "CN=Corp Issuing CA";
  identity.fingerprint_sha256 = std::string(64, 'a');
  return identity;
}

Verdict verdictFor(const std::vector<RuleConfig::Condition>& conditions,
                   const Identity& identity = workload()) {
  return policyWith({rule(conditions)}).decide(identity, "/x").verdict;
}

}  // namespace

TEST_SUITE("policy rules") {
  TEST_CASE("each field matches its own value") {
    const std::vector<RuleConfig::Condition> cases[] = {
        {{"cn", "billing"}},
        {{"o", "Corp"}},
        {{"ou", "ops"}},
        {{"dns", "billing.corp.example"}},
        {{"uri", "spiffe://corp/ns/prod/sa/billing"}},
        {{"email", "billing@corp.example"}},
        {{"ip", "10.1.2.3"}},
        {{"issuer", "CN=Corp Issuing CA"}},
        {{"fingerprint", std::string(64, 'a')}},
    };
    for (const auto& conditions : cases) {
      CAPTURE(conditions[0].field);
      CHECK(verdictFor(conditions) == Verdict::Allow);
    }
  }

  TEST_CASE("a field never matches another type") {
    Identity identity = workload();
    identity.cn = "billing.corp.example";
    CHECK(verdictFor({{"dns", "billing"}}, identity) == Verdict::Deny);
    CHECK(verdictFor({{"uri", "billing.corp.example"}}, identity) == Verdict::Deny);
    CHECK(verdictFor({{"email", "billing.corp.example"}}, identity) == Verdict::Deny);
    CHECK(verdictFor({{"cn", "spiffe://corp/ns/prod/sa/billing"}}) == Verdict::Deny);
  }

  TEST_CASE("all conditions of a rule must match") {
    CHECK(verdictFor({{"ou", "ops"}, {"issuer", "CN=Corp Issuing CA"}}) == Verdict::Allow);
    CHECK(verdictFor({{"ou", "ops"}, {"issuer", "CN=Other CA"}}) == Verdict::Deny);
  }

  TEST_CASE("uri glob matches below its path only") {
    CHECK(verdictFor({{"uri", "spiffe://corp/ns/prod/*"}}) == Verdict::Allow);
    CHECK(verdictFor({{"uri", "spiffe://corp/ns/*"}}) == Verdict::Allow);
    CHECK(verdictFor({{"uri", "spiffe://corp/ns/staging/*"}}) == Verdict::Deny);
    Identity identity = workload();
    identity.uri = {"spiffe://corp/ns/production/sa/x"};
    CHECK(verdictFor({{"uri", "spiffe://corp/ns/prod/*"}}, identity) == Verdict::Deny);
    identity.uri = {"spiffe://corp/ns/prod/"};
    CHECK(verdictFor({{"uri", "spiffe://corp/ns/prod/*"}}, identity) == Verdict::Deny);
  }

  TEST_CASE("dns glob matches exactly one label") {
    CHECK(verdictFor({{"dns", "*.corp.example"}}) == Verdict::Allow);
    Identity identity = workload();
    identity.dns = {"corp.example"};
    CHECK(verdictFor({{"dns", "*.corp.example"}}, identity) == Verdict::Deny);
    identity.dns = {"a.billing.corp.example"};
    CHECK(verdictFor({{"dns", "*.corp.example"}}, identity) == Verdict::Deny);
  }

  TEST_CASE("deny rule wins over allow rule") {
    Policy policy = policyWith({rule({{"ou", "ops"}})}, {rule({{"cn", "billing"}})});
    gw::policy::Decision decision = policy.decide(workload(), "/x");
    CHECK(decision.verdict == Verdict::Deny);
    CHECK(decision.rule == "policy.toml:1 deny[0]");
  }

  TEST_CASE("ambiguous CN never matches a CN rule") {
    Identity identity = workload();
    identity.cn_ambiguous = true;
    CHECK(verdictFor({{"cn", "billing"}}, identity) == Verdict::Deny);
    CHECK(verdictFor({{"ou", "ops"}}, identity) == Verdict::Allow);
  }

  TEST_CASE("trace lists every rule with the reason") {
    Policy policy = policyWith({rule({{"cn", "other"}}), rule({{"ou", "ops"}})},
                               {rule({{"fingerprint", std::string(64, 'b')}})});
    std::vector<RuleTrace> trace;
    gw::policy::Decision decision = policy.decide(workload(), "", "/x", &trace);
    REQUIRE(trace.size() == 3);
    CHECK(trace[0].deny);
    CHECK_FALSE(trace[0].matched);
    CHECK(trace[1].why == "cn does not match 'other'");
    CHECK(trace[2].matched);
    CHECK(decision.verdict == Verdict::Allow);
    CHECK(decision.rule == "policy.toml:1 allow[1]");
  }

  TEST_CASE("host routes win for their host") {
    RouteConfig any;
    any.prefix = "/";
    any.upstream = "public";
    any.allow_cn = {"billing"};
    RouteConfig api = any;
    api.host = "api.example";
    api.upstream = "api";
    PolicyConfig config;
    config.routes = {any, api};
    Policy policy(config);
    REQUIRE(policy.match("API.example", "/x") != nullptr);
    CHECK(policy.match("API.example", "/x")->upstream == "api");
    CHECK(policy.match("www.example", "/x")->upstream == "public");
    CHECK(policy.match("", "/x")->upstream == "public");
    CHECK(policy.hasHostRoutes());
  }
}

TEST_SUITE("policy rule index") {
  TEST_CASE("index and ordered scan agree") {
    Policy policy = policyWith(
        {rule({{"ou", "ops"}}), rule({{"cn", "billing"}}), rule({{"cn", "other"}}),
         rule({{"fingerprint", std::string(64, 'a')}}), rule({{"uri", "spiffe://corp/*"}})},
        {rule({{"cn", "blocked"}})});
    Identity identities[4] = {workload(), workload(), workload(), workload()};
    identities[1].ou = {};
    identities[2].ou = {};
    identities[2].cn = "nobody";
    identities[3].cn = "blocked";
    for (const Identity& identity : identities) {
      CAPTURE(identity.cn);
      std::vector<RuleTrace> trace;
      gw::policy::Decision traced = policy.decide(identity, "", "/x", &trace);
      gw::policy::Decision fast = policy.decide(identity, "/x");
      CHECK(fast.verdict == traced.verdict);
      CHECK(fast.rule == traced.rule);
    }
  }

  TEST_CASE("large CN list decides by lookup") {
    RouteConfig route;
    route.prefix = "/";
    route.upstream = "demo";
    route.source = "policy.toml:1";
    for (int i = 0; i < 100'000; i++) {
      route.allow_cn.push_back("client-" + std::to_string(i));
    }
    PolicyConfig config;
    config.routes.push_back(route);
    Policy policy(config);
    Identity identity = workload();
    identity.cn = "client-99999";
    gw::policy::Decision last = policy.decide(identity, "/x");
    CHECK(last.verdict == Verdict::Allow);
    CHECK(last.rule == "policy.toml:1 allow_cn[99999]");
    identity.cn = "client-100000";
    CHECK(policy.decide(identity, "/x").verdict == Verdict::Deny);
  }
}
