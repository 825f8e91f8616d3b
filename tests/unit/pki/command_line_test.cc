#include "gateway/pki/command_line.h"

#include <string>
#include <vector>

#include <doctest/doctest.h>

using gw::pki::OptionSpec;

namespace {

constexpr OptionSpec kSpecs[] = {
    {"--dir", true},
    {"--force", false},
    {"--san", true, true},
};

gw::Result<gw::pki::ParsedArgs> parse(std::vector<std::string> words) {
  std::vector<char*> args;
  for (std::string& word : words) {
    args.push_back(word.data());
  }
  return gw::pki::parseArgs(args, kSpecs);
}

}  // namespace

TEST_SUITE("pki command_line") {
  TEST_CASE("options and positionals are parsed") {
    auto parsed = parse({"--dir", "ca", "--force", "--san=dns:a", "--san", "dns:b", "file"});
    REQUIRE(parsed.ok());
    CHECK(parsed->value("--dir") == "ca");
    CHECK(parsed->has("--force"));
    CHECK(parsed->values("--san") == std::vector<std::string>{"dns:a", "dns:b"});
    CHECK(parsed->positionals() == std::vector<std::string>{"file"});
  }

  TEST_CASE("unknown option is rejected") {
    auto parsed = parse({"--bogus"});
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error() == "unknown option --bogus");
  }

  TEST_CASE("missing value is rejected") {
    auto parsed = parse({"--dir"});
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error() == "option --dir needs a value");
  }

  TEST_CASE("repeated single option is rejected") {
    CHECK_FALSE(parse({"--dir", "a", "--dir", "b"}).ok());
  }

  TEST_CASE("flag with value is rejected") {
    CHECK_FALSE(parse({"--force=yes"}).ok());
  }

  TEST_CASE("help is recognized anywhere") {
    auto parsed = parse({"--dir", "ca", "-h"});
    REQUIRE(parsed.ok());
    CHECK(parsed->helpRequested());
  }

  TEST_CASE("days must be in range") {
    CHECK(gw::pki::parseDays("--days", "1").ok());
    CHECK(gw::pki::parseDays("--days", "36500").ok());
    CHECK_FALSE(gw::pki::parseDays("--days", "0").ok());
    CHECK_FALSE(gw::pki::parseDays("--days", "36501").ok());
    CHECK_FALSE(gw::pki::parseDays("--days", "12x").ok());
    CHECK_FALSE(gw::pki::parseDays("--days", "-5").ok());
  }
}
