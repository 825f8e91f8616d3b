#include "gateway/policy/policy.h"

#include <algorithm>
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace {

using gw::config::PolicyConfig;
using gw::config::RouteConfig;
using gw::policy::Decision;
using gw::policy::Identity;
using gw::policy::Policy;
using gw::policy::prefixMatches;
using gw::policy::Verdict;

RouteConfig prefixRoute(std::string prefix, std::string upstream, std::vector<std::string> allow_cn,
                        std::string source) {
  RouteConfig route;
  route.prefix = std::move(prefix);
  route.upstream = std::move(upstream);
  route.allow_cn = std::move(allow_cn);
  route.source = std::move(source);
  return route;
}

RouteConfig exactRoute(std::string exact, std::string upstream, std::vector<std::string> allow_cn,
                       std::string source) {
  RouteConfig route;
  route.exact = std::move(exact);
  route.upstream = std::move(upstream);
  route.allow_cn = std::move(allow_cn);
  route.source = std::move(source);
  return route;
}

// demoPolicy has a short and a long prefix, an exact route inside the
// short prefix and a route that allows no one.
PolicyConfig demoPolicy() {
  PolicyConfig config;
  config.file = "policy.toml";
  config.routes.push_back(prefixRoute("/api", "api", {"good-client"}, "policy.toml:4"));
  config.routes.push_back(prefixRoute("/api/admin", "admin", {"admin-client"}, "policy.toml:9"));
  config.routes.push_back(exactRoute("/api/health", "health", {"monitor"}, "policy.toml:14"));
  config.routes.push_back(prefixRoute("/closed", "api", {}, "policy.toml:19"));
  return config;
}

// identityWithCn is a verified certificate's identity: it has a
// fingerprint, which the policy reads as "a certificate was presented".
Identity identityWithCn(std::string cn) {
  Identity identity;
  identity.cn = std::move(cn);
  identity.fingerprint_sha256 = std::string(64, 'f');
  return identity;
}

}  // namespace

TEST_SUITE("policy.prefixMatches") {
  TEST_CASE("prefix matches on segment boundary") {
    struct Case {
      const char* prefix;
      const char* path;
      bool matches;
    };
    const Case cases[] = {
        {"/secret", "/secret", true},
        {"/secret", "/secret/", true},
        {"/secret", "/secret/x", true},
        {"/secret", "/secret/x/y", true},
        {"/secret", "/secretive", false},
        {"/secret", "/secret.txt", false},
        {"/secret", "/", false},
        {"/secret", "/secre", false},
        {"/secret", "/Secret", false},
        {"/secret", "/other/secret", false},
        {"/", "/", true},
        {"/", "/secret", true},
        {"/", "/secret/x", true},
        {"/secret/", "/secret/", true},
        {"/secret/", "/secret/x", true},
        {"/secret/", "/secret", false},
        {"/secret/", "/secretive", false},
    };
    for (const Case& c : cases) {
      CAPTURE(c.prefix);
      CAPTURE(c.path);
      CHECK(prefixMatches(c.prefix, c.path) == c.matches);
    }
  }
}

TEST_SUITE("policy.identityHeaderNames") {
  TEST_CASE("names of every route, each once") {
    PolicyConfig config;
    config.routes.push_back(prefixRoute("/a", "up", {"x"}, "policy.toml:1"));
    RouteConfig renamed = prefixRoute("/b", "up", {"x"}, "policy.toml:5");
    renamed.headers.cn = "X-User";
    renamed.headers.client_cert = "Client-Cert";
    config.routes.push_back(renamed);
    RouteConfig same = prefixRoute("/c", "up", {"x"}, "policy.toml:9");
    same.headers.cn = "x_user";  // the same header once '_' is read as '-'
    config.routes.push_back(same);

    Policy policy(config);

    const std::vector<std::string>& names = policy.identityHeaderNames();
    CHECK(std::count(names.begin(), names.end(), "X-User") == 1);
    CHECK(std::count(names.begin(), names.end(), "x_user") == 0);
    CHECK(std::count(names.begin(), names.end(), "X-Client-CN") == 1);
    CHECK(std::count(names.begin(), names.end(), "Client-Cert") == 1);
    CHECK(names.size() == 9);  // 7 defaults, X-User, Client-Cert
  }
}

TEST_SUITE("policy.match") {
  TEST_CASE("exact route wins over prefix") {
    Policy policy(demoPolicy());

    const gw::policy::Route* route = policy.match("/api/health");

    REQUIRE(route != nullptr);
    CHECK(route->exact == "/api/health");
    CHECK(route->pattern() == "/api/health");
  }

  TEST_CASE("exact route matches only itself") {
    Policy policy(demoPolicy());

    const gw::policy::Route* route = policy.match("/api/health/x");

    REQUIRE(route != nullptr);
    CHECK(route->prefix == "/api");
  }

  TEST_CASE("longest prefix wins") {
    Policy policy(demoPolicy());

    const gw::policy::Route* route = policy.match("/api/admin/users");

    REQUIRE(route != nullptr);
    CHECK(route->prefix == "/api/admin");
    CHECK(route->upstream == "admin");
  }

  TEST_CASE("longest prefix wins in any order") {
    PolicyConfig config;
    config.routes.push_back(prefixRoute("/a/b", "long", {"x"}, "policy.toml:1"));
    config.routes.push_back(prefixRoute("/a", "short", {"x"}, "policy.toml:5"));
    Policy policy(config);

    const gw::policy::Route* route = policy.match("/a/b/c");

    REQUIRE(route != nullptr);
    CHECK(route->upstream == "long");
  }

  TEST_CASE("exact route wins in any order") {
    PolicyConfig config;
    config.routes.push_back(prefixRoute("/a", "prefix", {"x"}, "policy.toml:1"));
    config.routes.push_back(exactRoute("/a", "exact", {"x"}, "policy.toml:5"));
    Policy policy(config);

    const gw::policy::Route* route = policy.match("/a");

    REQUIRE(route != nullptr);
    CHECK(route->upstream == "exact");
  }

  TEST_CASE("prefix does not match sibling") {
    Policy policy(demoPolicy());

    const gw::policy::Route* route = policy.match("/api/administrator");

    REQUIRE(route != nullptr);
    CHECK(route->prefix == "/api");
  }

  TEST_CASE("unmatched path has no route") {
    Policy policy(demoPolicy());

    CHECK(policy.match("/apis") == nullptr);
    CHECK(policy.match("/") == nullptr);
    CHECK(policy.match("") == nullptr);
  }

  TEST_CASE("routes keep their configuration") {
    Policy policy(demoPolicy());

    REQUIRE(policy.routes().size() == 4);
    CHECK(policy.routes()[1].prefix == "/api/admin");
    CHECK(policy.routes()[1].upstream == "admin");
    CHECK(policy.routes()[1].allow_cn == std::vector<std::string>{"admin-client"});
    CHECK(policy.routes()[1].source == "policy.toml:9");
  }
}

TEST_SUITE("policy.decide") {
  TEST_CASE("allowed CN gets Allow with route") {
    Policy policy(demoPolicy());

    Decision decision = policy.decide(identityWithCn("good-client"), "/api/orders");

    CHECK(decision.verdict == Verdict::Allow);
    REQUIRE(decision.route != nullptr);
    CHECK(decision.route->prefix == "/api");
    CHECK(decision.route->upstream == "api");
    CHECK(decision.route->source == "policy.toml:4");
    CHECK_FALSE(decision.reason.empty());
  }

  TEST_CASE("other CN gets Deny") {
    Policy policy(demoPolicy());

    Decision decision = policy.decide(identityWithCn("other-client"), "/api/orders");

    CHECK(decision.verdict == Verdict::Deny);
    REQUIRE(decision.route != nullptr);
    CHECK(decision.route->source == "policy.toml:4");
    CHECK(decision.reason == "no allow rule matches");
  }

  TEST_CASE("CN allowed elsewhere gets Deny") {
    Policy policy(demoPolicy());

    Decision decision = policy.decide(identityWithCn("good-client"), "/api/admin/users");

    CHECK(decision.verdict == Verdict::Deny);
    REQUIRE(decision.route != nullptr);
    CHECK(decision.route->source == "policy.toml:9");
  }

  TEST_CASE("path without route gets NoRoute") {
    Policy policy(demoPolicy());

    Decision decision = policy.decide(identityWithCn("good-client"), "/other");

    CHECK(decision.verdict == Verdict::NoRoute);
    CHECK(decision.route == nullptr);
    CHECK_FALSE(decision.reason.empty());
  }

  TEST_CASE("empty policy gives NoRoute") {
    Policy policy(PolicyConfig{});

    Decision decision = policy.decide(identityWithCn("good-client"), "/");

    CHECK(decision.verdict == Verdict::NoRoute);
    CHECK(decision.route == nullptr);
  }

  TEST_CASE("empty CN gets Deny") {
    Policy policy(demoPolicy());

    Decision decision = policy.decide(identityWithCn(""), "/api/orders");

    CHECK(decision.verdict == Verdict::Deny);
    CHECK(decision.reason == "no allow rule matches");
  }

  TEST_CASE("empty CN never matches allow_cn") {
    PolicyConfig config;
    config.routes.push_back(prefixRoute("/", "api", {""}, "policy.toml:1"));
    Policy policy(config);

    Decision decision = policy.decide(identityWithCn(""), "/x");

    CHECK(decision.verdict == Verdict::Deny);
  }

  TEST_CASE("ambiguous CN gets Deny") {
    Policy policy(demoPolicy());
    Identity identity = identityWithCn("good-client");
    identity.cn_ambiguous = true;

    Decision decision = policy.decide(identity, "/api/orders");

    CHECK(decision.verdict == Verdict::Deny);
    REQUIRE(decision.route != nullptr);
    CHECK(decision.route->source == "policy.toml:4");
    CHECK(decision.reason == "no allow rule matches (certificate has more than one CN)");
  }

  TEST_CASE("empty allow_cn denies every CN") {
    Policy policy(demoPolicy());

    Decision decision = policy.decide(identityWithCn("good-client"), "/closed");

    CHECK(decision.verdict == Verdict::Deny);
    REQUIRE(decision.route != nullptr);
    CHECK(decision.route->source == "policy.toml:19");
  }

  TEST_CASE("CN match is exact and case-sensitive") {
    Policy policy(demoPolicy());
    const char* near_misses[] = {"Good-Client", "GOOD-CLIENT",  "good-client ", " good-client",
                                 "good-clien",  "good-client2", "good_client"};

    for (const char* cn : near_misses) {
      CAPTURE(cn);
      CHECK(policy.decide(identityWithCn(cn), "/api/orders").verdict == Verdict::Deny);
    }
  }

  TEST_CASE("exact route applies its own allow_cn") {
    Policy policy(demoPolicy());

    Decision monitor = policy.decide(identityWithCn("monitor"), "/api/health");
    Decision client = policy.decide(identityWithCn("good-client"), "/api/health");

    CHECK(monitor.verdict == Verdict::Allow);
    CHECK(client.verdict == Verdict::Deny);
    REQUIRE(client.route != nullptr);
    CHECK(client.route->source == "policy.toml:14");
  }

  TEST_CASE("any listed CN is allowed") {
    PolicyConfig config;
    config.routes.push_back(prefixRoute("/", "api", {"alpha", "beta"}, "policy.toml:1"));
    Policy policy(config);

    CHECK(policy.decide(identityWithCn("alpha"), "/x").verdict == Verdict::Allow);
    CHECK(policy.decide(identityWithCn("beta"), "/x").verdict == Verdict::Allow);
    CHECK(policy.decide(identityWithCn("gamma"), "/x").verdict == Verdict::Deny);
  }
}

TEST_SUITE("policy.public") {
  TEST_CASE("public route allows without certificate") {
    PolicyConfig config;
    RouteConfig health = exactRoute("/health", "demo", {}, "policy.toml:1");
    health.is_public = true;
    config.routes = {health, prefixRoute("/", "demo", {"good-client"}, "policy.toml:5")};
    Policy policy(config);

    Decision open = policy.decide(Identity{}, "/health");
    CHECK(open.verdict == Verdict::Allow);
    CHECK(open.rule == "policy.toml:1 public");

    Decision closed = policy.decide(Identity{}, "/secret");
    CHECK(closed.verdict == Verdict::Deny);
    CHECK(closed.needs_certificate);
    CHECK(policy.decide(identityWithCn("good-client"), "/secret").verdict == Verdict::Allow);
  }
}
