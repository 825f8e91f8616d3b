#include "gateway/pki/rfc3339.h"

#include <doctest/doctest.h>

using gw::pki::formatRfc3339Utc;
using gw::pki::parseRfc3339Utc;

TEST_SUITE("pki rfc3339") {
  TEST_CASE("epoch parses to zero") {
    auto seconds = parseRfc3339Utc("1970-01-01T00:00:00Z");
    REQUIRE(seconds.ok());
    CHECK(*seconds == 0);
  }

  TEST_CASE("known time parses exactly") {
    auto seconds = parseRfc3339Utc("2026-01-02T03:04:05Z");
    REQUIRE(seconds.ok());
    CHECK(*seconds == 1767323045);
  }

  TEST_CASE("lowercase separators are accepted") {
    auto seconds = parseRfc3339Utc("2026-01-02t03:04:05z");
    REQUIRE(seconds.ok());
    CHECK(*seconds == 1767323045);
  }

  TEST_CASE("leap day depends on year") {
    CHECK(parseRfc3339Utc("2024-02-29T00:00:00Z").ok());
    CHECK(parseRfc3339Utc("2000-02-29T00:00:00Z").ok());
    CHECK_FALSE(parseRfc3339Utc("2100-02-29T00:00:00Z").ok());
    CHECK_FALSE(parseRfc3339Utc("2026-02-29T00:00:00Z").ok());
  }

  TEST_CASE("malformed times are rejected") {
    CHECK_FALSE(parseRfc3339Utc("").ok());
    CHECK_FALSE(parseRfc3339Utc("2026-01-02").ok());
    CHECK_FALSE(parseRfc3339Utc("2026-01-02 03:04:05Z").ok());
    CHECK_FALSE(parseRfc3339Utc("2026-01-02T03:04:05+01:00").ok());
    CHECK_FALSE(parseRfc3339Utc("2026-01-02T03:04:05.5Z").ok());
    CHECK_FALSE(parseRfc3339Utc("2026-13-02T03:04:05Z").ok());
    CHECK_FALSE(parseRfc3339Utc("2026-01-32T03:04:05Z").ok());
    CHECK_FALSE(parseRfc3339Utc("2026-01-02T24:00:00Z").ok());
    CHECK_FALSE(parseRfc3339Utc("2026-01-02T23:59:60Z").ok());
    CHECK_FALSE(parseRfc3339Utc("2026-0a-02T03:04:05Z").ok());
  }

  TEST_CASE("years before 1950 are rejected") {
    auto seconds = parseRfc3339Utc("1949-12-31T23:59:59Z");
    REQUIRE_FALSE(seconds.ok());
    CHECK(seconds.error().find("1950") != std::string::npos);
  }

  TEST_CASE("format inverts parse") {
    for (const char* text : {"1950-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2000-02-29T12:00:00Z",
                             "2026-01-02T03:04:05Z", "9999-12-31T23:59:59Z"}) {
      auto seconds = parseRfc3339Utc(text);
      REQUIRE(seconds.ok());
      CHECK(formatRfc3339Utc(*seconds) == text);
    }
  }
}
