#include "bench/options.h"

#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace {

// parse runs bench::parseOptions on |args| after a program name.
bench::ParseResult parse(std::vector<std::string> args) {
  args.insert(args.begin(), "certgate-bench");
  std::vector<char*> argv;
  for (std::string& arg : args) {
    argv.push_back(arg.data());
  }
  return bench::parseOptions(static_cast<int>(argv.size()), argv.data());
}

const std::vector<std::string> kBase = {"--target", "127.0.0.1:4443", "--ca", "ca.crt"};

std::vector<std::string> withBase(std::vector<std::string> args) {
  args.insert(args.end(), kBase.begin(), kBase.end());
  return args;
}

}  // namespace

TEST_SUITE("bench options") {
  TEST_CASE("threads default to one") {
    bench::ParseResult result = parse(withBase({"handshake"}));
    REQUIRE(result.options.has_value());
    CHECK(result.options->threads == 1);
  }

  TEST_CASE("threads accepted up to concurrency") {
    bench::ParseResult result =
        parse(withBase({"keepalive", "--threads", "4", "--concurrency", "4"}));
    REQUIRE(result.options.has_value());
    CHECK(result.options->threads == 4);
  }

  TEST_CASE("threads above concurrency rejected") {
    bench::ParseResult result =
        parse(withBase({"handshake", "--threads", "5", "--concurrency", "4"}));
    CHECK_FALSE(result.options.has_value());
    CHECK(result.exit_code == 2);
    CHECK(result.message.find("--threads 5 is more than --concurrency 4") != std::string::npos);
  }

  TEST_CASE("invalid thread counts rejected") {
    for (const char* value : {"0", "-1", "two", "1.5", ""}) {
      CAPTURE(value);
      bench::ParseResult result = parse(withBase({"handshake", "--threads", value}));
      CHECK_FALSE(result.options.has_value());
      CHECK(result.exit_code == 2);
      CHECK(result.message.find("invalid value") != std::string::npos);
    }
  }

  TEST_CASE("threads rejected in idle mode") {
    bench::ParseResult result = parse(withBase({"--idle", "100", "--threads", "2"}));
    CHECK_FALSE(result.options.has_value());
    CHECK(result.exit_code == 2);
    CHECK(result.message.find("--idle runs on one thread") != std::string::npos);
  }
}
