#include "gateway/config/load.h"

#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/unit/support_temp_dir.h"

namespace {

using gw::config::GatewayConfig;
using gw::config::ListenAddress;
using gw::config::loadGatewayConfig;
using gw::config::parseListenAddress;
using gw::testing::TempDir;

constexpr std::string_view kGateway = R"([server]
listen = ["[::1]:4443", "127.0.0.1:8443"]

[tls]
cert = "certs/server.pem"
key = "certs/server.key"
client_ca = "../ca/clients.pem"

[policy]
file = "policy.toml"
)";

constexpr std::string_view kPolicy = R"([upstreams.app]
address = "127.0.0.1:8080"

[[routes]]
prefix = "/secret"
upstream = "app"
allow_cn = ["good-client"]

[[routes]]
exact = "/health"
upstream = "app"
allow_cn = []
)";

// loadError loads the gateway file at |path|, requires the load to fail and
// returns the error message.
std::string loadError(const std::string& path) {
  gw::Result<GatewayConfig> result = loadGatewayConfig(path);
  REQUIRE_FALSE(result.ok());
  return result.error();
}

// policyError writes |policy| next to the valid gateway file and returns
// the error from loading them.
std::string policyError(const TempDir& dir, std::string_view policy) {
  dir.write("policy.toml", policy);
  return loadError(dir.write("gateway.toml", kGateway));
}

// gatewayError writes |gateway| next to the valid policy file and returns
// the error from loading them.
std::string gatewayError(const TempDir& dir, std::string_view gateway) {
  dir.write("policy.toml", kPolicy);
  return loadError(dir.write("gateway.toml", gateway));
}

// replaced returns |text| with its first |from| replaced by |to|. The test
// fails when |from| does not occur in |text|.
std::string replaced(std::string_view text, std::string_view from, std::string_view to) {
  std::string out(text);
  size_t start = out.find(from);
  REQUIRE_MESSAGE(start != std::string::npos, "test input lacks: ", std::string(from));
  out.replace(start, from.size(), to);
  return out;
}

std::vector<std::string> splitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

// startsWithLocation reports whether |line| starts with "FILE:LINE:COLUMN: "
// for the file |path|.
bool startsWithLocation(const std::string& line, const std::string& path) {
  if (!line.starts_with(path + ":")) {
    return false;
  }
  static const std::regex kLocation(R"(^:[1-9][0-9]*:[1-9][0-9]*: .+)");
  return std::regex_match(line.substr(path.size()), kLocation);
}

}  // namespace

TEST_SUITE("config.load") {
  TEST_CASE("valid gateway and policy load") {
    TempDir dir;
    std::string policy_path = dir.write("policy.toml", kPolicy);
    std::string gateway_path = dir.write("gateway.toml", kGateway);

    gw::Result<GatewayConfig> result = loadGatewayConfig(gateway_path);
    REQUIRE_MESSAGE(result.ok(), result.error());
    const GatewayConfig& config = result.value();

    CHECK(config.file == gateway_path);
    REQUIRE(config.listen.size() == 2);
    CHECK(config.listen[0].host == "::1");
    CHECK(config.listen[0].port == 4443);
    CHECK(config.listen[1].host == "127.0.0.1");
    CHECK(config.listen[1].port == 8443);
    CHECK(config.log_level == "info");

    CHECK(config.policy.file == policy_path);
    REQUIRE(config.policy.upstreams.size() == 1);
    CHECK(config.policy.upstreams[0].name == "app");
    CHECK(config.policy.upstreams[0].host == "127.0.0.1");
    CHECK(config.policy.upstreams[0].port == 8080);

    REQUIRE(config.policy.routes.size() == 2);
    const gw::config::RouteConfig& secret = config.policy.routes[0];
    CHECK(secret.prefix == "/secret");
    CHECK(secret.exact.empty());
    CHECK(secret.upstream == "app");
    CHECK(secret.allow_cn == std::vector<std::string>{"good-client"});
    CHECK(secret.source == policy_path + ":4");
    const gw::config::RouteConfig& health = config.policy.routes[1];
    CHECK(health.exact == "/health");
    CHECK(health.prefix.empty());
    CHECK(health.allow_cn.empty());
    CHECK(health.source == policy_path + ":9");
  }

  TEST_CASE("paths resolve against the file's directory") {
    TempDir dir;
    dir.write("conf/policy.toml", kPolicy);
    std::string gateway_path = dir.write("conf/gateway.toml", kGateway);

    gw::Result<GatewayConfig> result = loadGatewayConfig(gateway_path);
    REQUIRE_MESSAGE(result.ok(), result.error());

    std::filesystem::path conf = dir.path() / "conf";
    CHECK(result->tls.cert_file == (conf / "certs/server.pem").string());
    CHECK(result->tls.key_file == (conf / "certs/server.key").string());
    CHECK(result->tls.client_ca_file == (dir.path() / "ca/clients.pem").string());
    CHECK(result->policy.file == (conf / "policy.toml").string());
  }

  TEST_CASE("absolute paths are kept") {
    TempDir dir;
    dir.write("policy.toml", kPolicy);
    std::string gateway = replaced(kGateway, "certs/server.pem", "/etc/certgate/server.pem");
    std::string gateway_path = dir.write("gateway.toml", gateway);

    gw::Result<GatewayConfig> result = loadGatewayConfig(gateway_path);
    REQUIRE_MESSAGE(result.ok(), result.error());

    CHECK(result->tls.cert_file == "/etc/certgate/server.pem");
  }

  TEST_CASE("omitted settings get defaults") {
    TempDir dir;
    dir.write("policy.toml", kPolicy);
    gw::Result<GatewayConfig> result = loadGatewayConfig(dir.write("gateway.toml", kGateway));
    REQUIRE_MESSAGE(result.ok(), result.error());

    CHECK(result->tls.chain_file.empty());
    CHECK(result->tls.crl_file.empty());
    CHECK(result->tls.min_version == "1.3");
    CHECK(result->timeouts.handshake_ms == 10'000);
    CHECK(result->timeouts.request_header_ms == 30'000);
    CHECK(result->timeouts.idle_ms == 60'000);
    CHECK(result->timeouts.upstream_connect_ms == 5'000);
    CHECK(result->timeouts.upstream_response_ms == 60'000);
    CHECK(result->limits.max_header_bytes == 16 * 1024);
    CHECK(result->limits.max_connections == 8'000);
    CHECK(result->timeouts.request_body_ms == 30'000);
    CHECK(result->limits.request_buffer_bytes == 64 * 1024);
  }

  TEST_CASE("explicit timeouts and limits are read") {
    TempDir dir;
    dir.write("policy.toml", kPolicy);
    std::string gateway = std::string(kGateway) + R"(
[timeouts]
handshake_ms = 1
idle_ms = 86400000

[limits]
max_header_bytes = 1024
max_connections = 7
request_buffer_bytes = 0
)";
    gw::Result<GatewayConfig> result = loadGatewayConfig(dir.write("gateway.toml", gateway));
    REQUIRE_MESSAGE(result.ok(), result.error());

    CHECK(result->timeouts.handshake_ms == 1);
    CHECK(result->timeouts.idle_ms == 86'400'000);
    CHECK(result->timeouts.request_header_ms == 30'000);
    CHECK(result->limits.max_header_bytes == 1024);
    CHECK(result->limits.max_connections == 7);
    CHECK(result->limits.request_buffer_bytes == 0);
  }

  TEST_CASE("request_buffer_bytes over 16 MiB is rejected with the range") {
    TempDir dir;
    dir.write("policy.toml", kPolicy);
    std::string path = dir.write(
        "gateway.toml", std::string(kGateway) + "\n[limits]\nrequest_buffer_bytes = 16777217\n");

    std::string error = loadError(path);

    CHECK(error.find("request_buffer_bytes") != std::string::npos);
    CHECK(error.find("16777216") != std::string::npos);
  }

  TEST_CASE("workers default and values") {
    TempDir dir;
    dir.write("policy.toml", kPolicy);
    auto load = [&](const std::string& value) {
      std::string gateway(kGateway);
      gateway.replace(gateway.find("[server]\n"), 9, "[server]\nworkers = " + value + "\n");
      return loadGatewayConfig(dir.write("gateway.toml", gateway));
    };
    gw::Result<GatewayConfig> defaults = loadGatewayConfig(dir.write("gateway.toml", kGateway));
    REQUIRE_MESSAGE(defaults.ok(), defaults.error());
    CHECK(defaults->workers == 1);

    gw::Result<GatewayConfig> four = load("4");
    REQUIRE_MESSAGE(four.ok(), four.error());
    CHECK(four->workers == 4);

    gw::Result<GatewayConfig> automatic = load("\"auto\"");
    REQUIRE_MESSAGE(automatic.ok(), automatic.error());
    CHECK(automatic->workers == GatewayConfig::kWorkersAuto);
  }

  TEST_CASE("invalid workers are rejected") {
    TempDir dir;
    dir.write("policy.toml", kPolicy);
    for (const char* value : {"0", "257", "\"many\"", "1.5"}) {
      std::string gateway(kGateway);
      gateway.replace(gateway.find("[server]\n"), 9,
                      std::string("[server]\nworkers = ") + value + "\n");
      std::string error = loadError(dir.write("gateway.toml", gateway));
      CAPTURE(value);
      CHECK(error.find("'workers'") != std::string::npos);
      CHECK(error.find("256") != std::string::npos);
    }
  }

  TEST_CASE("TOML syntax error names location") {
    TempDir dir;
    std::string path = dir.write("gateway.toml", "[server]\nlisten = [\"127.0.0.1:4443\"\n");

    std::string error = loadError(path);

    CHECK(startsWithLocation(error, path));
    CHECK(error.find("TOML syntax error") != std::string::npos);
  }

  TEST_CASE("unknown key is named with expected keys") {
    TempDir dir;
    std::string gateway = replaced(kGateway, "\n\n[tls]", "\nlog_levle = \"debug\"\n\n[tls]");
    std::string path = dir.file("gateway.toml");

    std::string error = gatewayError(dir, gateway);

    CHECK(error == path +
                       ":3:13: unknown key 'log_levle' in [server] (expected one of: listen, "
                       "log_level, log_format, log_file, workers)");
  }

  TEST_CASE("unknown top-level key is named") {
    TempDir dir;
    std::string path = dir.file("gateway.toml");

    std::string error = gatewayError(dir, std::string(kGateway) + "\n[logging]\nlevel = 1\n");

    CHECK(startsWithLocation(error, path));
    CHECK(error.find("unknown key 'logging' in the gateway file") != std::string::npos);
    CHECK(error.find("expected one of: server, tls, timeouts, limits, policy") !=
          std::string::npos);
  }

  TEST_CASE("missing policy file names its path") {
    TempDir dir;
    std::string path = dir.write("gateway.toml", kGateway);

    std::string error = loadError(path);

    CHECK(error.find(dir.file("policy.toml")) != std::string::npos);
    CHECK(error.find("not found") != std::string::npos);
  }

  TEST_CASE("missing policy file points at gateway") {
    TempDir dir;
    std::string path = dir.write("gateway.toml", kGateway);

    std::string error = loadError(path);

    CHECK(error.find(path + ":10:8: ") != std::string::npos);
    CHECK(error.find("--config") == std::string::npos);
  }

  TEST_CASE("missing gateway file names its path") {
    TempDir dir;
    std::string path = dir.file("gateway.toml");

    std::string error = loadError(path);

    CHECK(error.starts_with(path + ": "));
    CHECK(error.find("not found") != std::string::npos);
  }

  TEST_CASE("allow_cn string must be an array") {
    TempDir dir;
    std::string policy = replaced(kPolicy, "[\"good-client\"]", "\"good-client\"");
    std::string path = dir.file("policy.toml");

    std::string error = policyError(dir, policy);

    CHECK(error == path +
                       ":7:12: 'allow_cn' must be an array of strings, for example allow_cn = "
                       "[\"good-client\"]");
  }

  TEST_CASE("allow_cn with a non-string is rejected") {
    TempDir dir;
    std::string policy = replaced(kPolicy, "[\"good-client\"]", "[\"good-client\", 7]");
    std::string path = dir.file("policy.toml");

    std::string error = policyError(dir, policy);

    CHECK(error == path + ":7:28: 'allow_cn' must contain only strings");
  }

  TEST_CASE("route without allow_cn is rejected") {
    TempDir dir;
    std::string policy = replaced(kPolicy, "allow_cn = [\"good-client\"]\n", "");
    std::string path = dir.file("policy.toml");

    std::string error = policyError(dir, policy);

    CHECK(startsWithLocation(error, path));
    CHECK(error.find("route has no 'allow_cn' or 'allow' list") != std::string::npos);
    CHECK(error.find("allow_cn = []") != std::string::npos);
  }

  TEST_CASE("route with undefined upstream is rejected") {
    TempDir dir;
    std::string policy = replaced(kPolicy, "upstream = \"app\"", "upstream = \"billing\"");
    std::string path = dir.file("policy.toml");

    std::string error = policyError(dir, policy);

    CHECK(error == path +
                       ":6:12: route names upstream 'billing', which is not defined; add "
                       "[upstreams.billing] with an address");
  }

  TEST_CASE("route with prefix and exact is rejected") {
    TempDir dir;
    std::string policy =
        replaced(kPolicy, "prefix = \"/secret\"", "exact = \"/secret\"\nprefix = \"/secret\"");
    std::string path = dir.file("policy.toml");

    std::string error = policyError(dir, policy);

    CHECK(startsWithLocation(error, path));
    CHECK(error.find("a route needs exactly one of 'prefix' or 'exact'") != std::string::npos);
  }

  TEST_CASE("route with neither prefix nor exact is rejected") {
    TempDir dir;
    std::string policy = replaced(kPolicy, "prefix = \"/secret\"\n", "");
    std::string path = dir.file("policy.toml");

    std::string error = policyError(dir, policy);

    CHECK(startsWithLocation(error, path));
    CHECK(error.find("a route needs exactly one of 'prefix' or 'exact'") != std::string::npos);
  }

  TEST_CASE("route path without slash is rejected") {
    TempDir dir;
    std::string policy = replaced(kPolicy, "\"/secret\"", "\"secret\"");
    std::string path = dir.file("policy.toml");

    std::string error = policyError(dir, policy);

    CHECK(error == path + ":5:10: a route path must start with '/'");
  }

  TEST_CASE("exact path without slash is rejected") {
    TempDir dir;
    std::string policy = replaced(kPolicy, "\"/health\"", "\"health\"");
    std::string path = dir.file("policy.toml");

    std::string error = policyError(dir, policy);

    CHECK(error == path + ":10:9: a route path must start with '/'");
  }

  TEST_CASE("policy without routes is rejected") {
    TempDir dir;
    std::string path = dir.file("policy.toml");

    std::string error = policyError(dir, "[upstreams.app]\naddress = \"127.0.0.1:8080\"\n");

    CHECK(error.starts_with(path + ": "));
    CHECK(error.find("no [[routes]] defined") != std::string::npos);
  }

  TEST_CASE("invalid upstream address is rejected") {
    TempDir dir;
    std::string policy = replaced(kPolicy, "\"127.0.0.1:8080\"", "\"127.0.0.1\"");
    std::string path = dir.file("policy.toml");

    std::string error = policyError(dir, policy);

    CHECK(error == path +
                       ":2:11: invalid upstream address '127.0.0.1'; expected HOST:PORT, for "
                       "example \"127.0.0.1:8080\"");
  }

  TEST_CASE("upstream port 0 is rejected") {
    TempDir dir;
    std::string policy = replaced(kPolicy, "8080", "0");
    std::string path = dir.file("policy.toml");

    std::string error = policyError(dir, policy);

    CHECK(startsWithLocation(error, path));
    CHECK(error.find("invalid upstream address '127.0.0.1:0'") != std::string::npos);
  }

  TEST_CASE("invalid listen address is rejected") {
    TempDir dir;
    std::string gateway = replaced(kGateway, "\"127.0.0.1:8443\"", "\"localhost\"");
    std::string path = dir.file("gateway.toml");

    std::string error = gatewayError(dir, gateway);

    CHECK(startsWithLocation(error, path));
    CHECK(error.find("invalid listen address 'localhost'") != std::string::npos);
    CHECK(error.find("expected HOST:PORT or [IPV6]:PORT") != std::string::npos);
  }

  TEST_CASE("missing listen key is rejected") {
    TempDir dir;
    std::string gateway = replaced(kGateway, "listen = [\"[::1]:4443\", \"127.0.0.1:8443\"]\n", "");
    std::string path = dir.file("gateway.toml");

    std::string error = gatewayError(dir, gateway);

    CHECK(startsWithLocation(error, path));
    CHECK(error.find("missing key 'listen'") != std::string::npos);
  }

  TEST_CASE("timeout of zero is out of range") {
    TempDir dir;
    std::string path = dir.file("gateway.toml");

    std::string error = gatewayError(dir, std::string(kGateway) + "\n[timeouts]\nidle_ms = 0\n");

    CHECK(error == path + ":13:11: 'idle_ms' is 0; it must be between 1 and 86400000");
  }

  TEST_CASE("timeout over one day is out of range") {
    TempDir dir;
    std::string path = dir.file("gateway.toml");

    std::string error =
        gatewayError(dir, std::string(kGateway) + "\n[timeouts]\nhandshake_ms = 86400001\n");

    CHECK(error == path + ":13:16: 'handshake_ms' is 86400001; it must be between 1 and 86400000");
  }

  TEST_CASE("negative timeout is out of range") {
    TempDir dir;
    std::string path = dir.file("gateway.toml");

    std::string error =
        gatewayError(dir, std::string(kGateway) + "\n[timeouts]\nupstream_connect_ms = -5\n");

    CHECK(startsWithLocation(error, path));
    CHECK(error.find("'upstream_connect_ms' is -5") != std::string::npos);
  }

  TEST_CASE("timeout as a string is rejected") {
    TempDir dir;
    std::string path = dir.file("gateway.toml");

    std::string error =
        gatewayError(dir, std::string(kGateway) + "\n[timeouts]\nidle_ms = \"60s\"\n");

    CHECK(error == path + ":13:11: 'idle_ms' must be an integer");
  }

  TEST_CASE("header limit below minimum is rejected") {
    TempDir dir;
    std::string path = dir.file("gateway.toml");

    std::string error =
        gatewayError(dir, std::string(kGateway) + "\n[limits]\nmax_header_bytes = 1023\n");

    CHECK(startsWithLocation(error, path));
    CHECK(error.find("'max_header_bytes' is 1023; it must be between 1024 and 1048576") !=
          std::string::npos);
  }

  TEST_CASE("min_version 1.1 is rejected") {
    TempDir dir;
    std::string gateway = replaced(kGateway, "\n\n[policy]", "\nmin_version = \"1.1\"\n\n[policy]");
    std::string path = dir.file("gateway.toml");

    std::string error = gatewayError(dir, gateway);

    CHECK(error == path + ":8:15: min_version '1.1' is not supported; use \"1.3\" or \"1.2\"");
  }

  TEST_CASE("min_version 1.2 is accepted") {
    TempDir dir;
    dir.write("policy.toml", kPolicy);
    std::string gateway = replaced(kGateway, "\n\n[policy]", "\nmin_version = \"1.2\"\n\n[policy]");

    gw::Result<GatewayConfig> result = loadGatewayConfig(dir.write("gateway.toml", gateway));
    REQUIRE_MESSAGE(result.ok(), result.error());

    CHECK(result->tls.min_version == "1.2");
  }

  TEST_CASE("invalid log_level is rejected") {
    TempDir dir;
    std::string gateway = replaced(kGateway, "\n\n[tls]", "\nlog_level = \"verbose\"\n\n[tls]");
    std::string path = dir.file("gateway.toml");

    std::string error = gatewayError(dir, gateway);

    CHECK(error == path + ":3:13: log_level 'verbose' is invalid; use debug, info, warn or error");
  }

  TEST_CASE("missing tls table is rejected") {
    TempDir dir;
    std::string gateway = replaced(kGateway, R"([tls]
cert = "certs/server.pem"
key = "certs/server.key"
client_ca = "../ca/clients.pem"

)",
                                   "");
    std::string path = dir.file("gateway.toml");

    std::string error = gatewayError(dir, gateway);

    CHECK(error == path + ": missing table [tls]");
  }

  TEST_CASE("missing tls key is named") {
    TempDir dir;
    std::string gateway = replaced(kGateway, "key = \"certs/server.key\"\n", "");
    std::string path = dir.file("gateway.toml");

    std::string error = gatewayError(dir, gateway);

    CHECK(startsWithLocation(error, path));
    CHECK(error.find("missing key 'key'") != std::string::npos);
  }

  TEST_CASE("several errors are reported together") {
    TempDir dir;
    std::string gateway = replaced(kGateway, "\n\n[policy]", "\nmin_version = \"1.1\"\n\n[policy]");
    gateway += "\n[timeouts]\nidle_ms = 0\n";
    std::string policy = replaced(kPolicy, "upstream = \"app\"", "upstream = \"billing\"");
    policy = replaced(policy, "\"/health\"", "\"health\"");
    dir.write("policy.toml", policy);
    std::string gateway_path = dir.write("gateway.toml", gateway);
    std::string policy_path = dir.file("policy.toml");

    std::vector<std::string> lines = splitLines(loadError(gateway_path));

    REQUIRE(lines.size() == 4);
    CHECK(startsWithLocation(lines[0], gateway_path));
    CHECK(lines[0].find("min_version '1.1'") != std::string::npos);
    CHECK(startsWithLocation(lines[1], gateway_path));
    CHECK(lines[1].find("'idle_ms' is 0") != std::string::npos);
    CHECK(startsWithLocation(lines[2], policy_path));
    CHECK(lines[2].find("upstream 'billing'") != std::string::npos);
    CHECK(startsWithLocation(lines[3], policy_path));
    CHECK(lines[3].find("must start with '/'") != std::string::npos);
  }
}

TEST_SUITE("config.loadPolicyConfig") {
  TEST_CASE("policy file loads on its own") {
    TempDir dir;
    std::string path = dir.write("policy.toml", kPolicy);
    std::vector<std::string> errors;

    gw::config::PolicyConfig policy = gw::config::loadPolicyConfig(path, &errors);

    CHECK(errors.empty());
    CHECK(policy.file == path);
    CHECK(policy.upstreams.size() == 1);
    CHECK(policy.routes.size() == 2);
  }

  TEST_CASE("policy errors are appended one each") {
    TempDir dir;
    std::string policy = replaced(kPolicy, "\"/secret\"", "\"secret\"");
    policy = replaced(policy, "allow_cn = []", "allow_cn = \"nobody\"");
    std::string path = dir.write("policy.toml", policy);
    std::vector<std::string> errors{"earlier error"};

    gw::config::loadPolicyConfig(path, &errors);

    REQUIRE(errors.size() == 3);
    CHECK(errors[0] == "earlier error");
    CHECK(errors[1] == path + ":5:10: a route path must start with '/'");
    CHECK(startsWithLocation(errors[2], path));
    CHECK(errors[2].find("'allow_cn' must be an array of strings") != std::string::npos);
  }
}

TEST_SUITE("config.parseListenAddress") {
  TEST_CASE("valid addresses parse") {
    struct Case {
      std::string text;
      std::string host;
      uint16_t port;
    };
    const Case cases[] = {
        {"127.0.0.1:4443", "127.0.0.1", 4443},
        {"[::1]:4443", "::1", 4443},
        {"[2001:db8::7]:443", "2001:db8::7", 443},
        {"localhost:80", "localhost", 80},
        {"gateway.example:65535", "gateway.example", 65535},
        {"0.0.0.0:0", "0.0.0.0", 0},
    };
    for (const Case& c : cases) {
      CAPTURE(c.text);
      ListenAddress address;
      REQUIRE(parseListenAddress(c.text, &address));
      CHECK(address.host == c.host);
      CHECK(address.port == c.port);
    }
  }

  TEST_CASE("invalid addresses are rejected") {
    const std::string cases[] = {
        "",           "127.0.0.1",        "127.0.0.1:", ":4443",    "[]:4443",
        "host:65536", "host:99999999999", "host:-1",    "host:+80", "host: 80",
        "host:80x",   "host:0x50",        "::1:4443",   "[::1]",    "[::1]:",
        "[::1]4443",  "[::1:4443",
    };
    for (const std::string& text : cases) {
      CAPTURE(text);
      ListenAddress address;
      CHECK_FALSE(parseListenAddress(text, &address));
    }
  }
}

TEST_SUITE("config.load route checks") {
  TEST_CASE("listen of the wrong type shows an address example") {
    TempDir dir;
    std::string gateway =
        replaced(kGateway, "listen = [\"[::1]:4443\", \"127.0.0.1:8443\"]", "listen = 4443");

    std::string error = gatewayError(dir, gateway);

    CHECK(error.find("for example listen = [\"127.0.0.1:4443\"]") != std::string::npos);
    CHECK(error.find("good-client") == std::string::npos);
  }

  TEST_CASE("reserved identity header names are rejected") {
    const char* names[] = {"Content-Length",
                           "transfer-encoding",
                           "HOST",
                           "Connection",
                           "Keep-Alive",
                           "Proxy-Connection",
                           "te",
                           "Trailer",
                           "Upgrade",
                           "Expect",
                           "Forwarded",
                           "X-Forwarded-For",
                           "X-Forwarded-Proto",
                           "x-forwarded-host"};
    for (const char* name : names) {
      CAPTURE(name);
      TempDir dir;
      std::string policy = replaced(
          kPolicy, "allow_cn = [\"good-client\"]\n",
          "allow_cn = [\"good-client\"]\nheaders = { cn = \"" + std::string(name) + "\" }\n");
      std::string path = dir.file("policy.toml");

      std::string error = policyError(dir, policy);

      CHECK(error.starts_with(path + ":8:"));
      CHECK(error.find("header name '" + std::string(name) + "' is reserved") != std::string::npos);
      CHECK(error.find("X-Client-cn") != std::string::npos);
    }
  }

  TEST_CASE("identity header name that is not a token is rejected") {
    TempDir dir;
    std::string policy =
        replaced(kPolicy, "allow_cn = [\"good-client\"]\n",
                 "allow_cn = [\"good-client\"]\nheaders = { sans = \"X User\" }\n");

    std::string error = policyError(dir, policy);

    CHECK(error.find("header name 'X User' is not a valid token") != std::string::npos);
  }

  TEST_CASE("ordinary identity header names load") {
    TempDir dir;
    dir.write("policy.toml", replaced(kPolicy, "allow_cn = [\"good-client\"]\n",
                                      "allow_cn = [\"good-client\"]\nheaders = { cn = \"X-User\", "
                                      "client_cert = \"Client-Cert\" }\n"));

    gw::Result<GatewayConfig> result = loadGatewayConfig(dir.write("gateway.toml", kGateway));

    REQUIRE_MESSAGE(result.ok(), result.error());
    CHECK(result.value().policy.routes[0].headers.cn == "X-User");
    CHECK(result.value().policy.routes[0].headers.client_cert == "Client-Cert");
  }

  TEST_CASE("star in allow_cn is rejected") {
    TempDir dir;
    std::string policy = replaced(kPolicy, "[\"good-client\"]", "[\"*\"]");
    std::string path = dir.file("policy.toml");

    std::string error = policyError(dir, policy);

    CHECK(error.starts_with(path + ":7:"));
    CHECK(error.find("'*' in cn value '*' is not allowed") != std::string::npos);
  }

  TEST_CASE("invalid ip rule value is rejected") {
    TempDir dir;
    std::string policy =
        replaced(kPolicy, "allow_cn = [\"good-client\"]", "allow = [{ ip = \"1.2.3.400\" }]");

    std::string error = policyError(dir, policy);

    CHECK(error.find("ip '1.2.3.400' is not a valid IPv4 or IPv6 address") != std::string::npos);
  }

  TEST_CASE("ip rule values are stored in canonical form") {
    TempDir dir;
    dir.write("policy.toml", replaced(kPolicy, "allow_cn = [\"good-client\"]",
                                      "allow = [{ ip = \"10.0.0.1\" }, { ip = \"::0001\" }]"));

    gw::Result<GatewayConfig> result = loadGatewayConfig(dir.write("gateway.toml", kGateway));

    REQUIRE_MESSAGE(result.ok(), result.error());
    const auto& allow = result.value().policy.routes[0].allow;
    REQUIRE(allow.size() == 2);
    CHECK(allow[0].conditions[0].value == "10.0.0.1");
    CHECK(allow[1].conditions[0].value == "::1");
  }

  TEST_CASE("route path not in normalized form is rejected") {
    struct Case {
      const char* path;
      const char* normal;
    };
    const Case cases[] = {
        {"/a/../b", "/b"},        {"/a//b", "/a/b"},  {"/./secret", "/secret"},
        {"/%73ecret", "/secret"}, {"/a/%7e", "/a/~"}, {"/a/%2f", "/a/%2F"},
        {"/a/b/..", "/a/"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.path);
      TempDir dir;
      std::string policy =
          replaced(kPolicy, "prefix = \"/secret\"", "prefix = \"" + std::string(c.path) + "\"");
      std::string path = dir.file("policy.toml");

      std::string error = policyError(dir, policy);

      CHECK(error.starts_with(path + ":5:"));
      CHECK(error.find("is not in normalized form") != std::string::npos);
      CHECK(error.find("write '" + std::string(c.normal) + "'") != std::string::npos);
    }
  }

  TEST_CASE("normalized route paths load") {
    TempDir dir;
    dir.write("policy.toml", replaced(kPolicy, "prefix = \"/secret\"", "prefix = \"/api/v1/\""));

    gw::Result<GatewayConfig> result = loadGatewayConfig(dir.write("gateway.toml", kGateway));

    REQUIRE_MESSAGE(result.ok(), result.error());
    CHECK(result.value().policy.routes[0].prefix == "/api/v1/");
  }

  TEST_CASE("duplicate route names both locations") {
    TempDir dir;
    std::string policy = std::string(kPolicy) +
                         "\n[[routes]]\nprefix = \"/secret\"\nupstream = \"app\"\nallow_cn = []\n";
    std::string path = dir.file("policy.toml");

    std::string error = policyError(dir, policy);

    CHECK(error.starts_with(path + ":14:"));
    CHECK(error.find("route with prefix /secret duplicates the route at " + path + ":4") !=
          std::string::npos);
  }

  TEST_CASE("duplicate exact route is rejected") {
    TempDir dir;
    std::string policy = std::string(kPolicy) +
                         "\n[[routes]]\nexact = \"/health\"\nupstream = \"app\"\nallow_cn = []\n";

    std::string error = policyError(dir, policy);

    CHECK(error.find("route with exact /health duplicates the route at") != std::string::npos);
  }

  TEST_CASE("same path on another host is no duplicate") {
    TempDir dir;
    dir.write("policy.toml", std::string(kPolicy) +
                                 "\n[[routes]]\nhost = \"api.example\"\nprefix = "
                                 "\"/secret\"\nupstream = \"app\"\nallow_cn = []\n");

    gw::Result<GatewayConfig> result = loadGatewayConfig(dir.write("gateway.toml", kGateway));

    REQUIRE_MESSAGE(result.ok(), result.error());
    CHECK(result.value().policy.routes.size() == 3);
  }
}
