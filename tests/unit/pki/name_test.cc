#include "gateway/pki/name.h"

#include <string>

#include <doctest/doctest.h>

using gw::pki::validateNameText;

TEST_SUITE("pki name") {
  TEST_CASE("plain name is accepted") {
    CHECK(validateNameText("--cn", "good-client").ok());
  }

  TEST_CASE("UTF-8 name is accepted") {
    CHECK(validateNameText("--cn", "Zoë Müller").ok());
  }

  TEST_CASE("newline is rejected naming field") {
    auto status = validateNameText("--cn", "evil\nCN=admin");
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().find("--cn") != std::string::npos);
    CHECK(status.error().find("U+000A") != std::string::npos);
  }

  TEST_CASE("embedded NUL is rejected") {
    auto status = validateNameText("--ou", std::string("ops\0admin", 9));
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().find("--ou") != std::string::npos);
    CHECK(status.error().find("U+0000") != std::string::npos);
  }

  TEST_CASE("DEL and C1 controls are rejected") {
    CHECK_FALSE(validateNameText("--cn", "a\x7f").ok());
    CHECK_FALSE(validateNameText("--cn", "a\xc2\x85").ok());
  }

  TEST_CASE("invalid UTF-8 is rejected") {
    CHECK_FALSE(validateNameText("--cn", "a\xff").ok());
    CHECK_FALSE(validateNameText("--cn", "a\xc3").ok());
    CHECK_FALSE(validateNameText("--cn", "\xc0\xaf").ok());
  }

  TEST_CASE("empty name is rejected") {
    CHECK_FALSE(validateNameText("--cn", "").ok());
  }

  TEST_CASE("name length counts characters") {
    CHECK(validateNameText("--cn", std::string(64, 'a')).ok());
    CHECK_FALSE(validateNameText("--cn", std::string(65, 'a')).ok());
    std::string umlauts;
    for (int i = 0; i < 64; i++) {
      umlauts += "\xc3\xbc";
    }
    CHECK(validateNameText("--cn", umlauts).ok());
  }

  TEST_CASE("subject prints in RFC 4514 order") {
    auto name = gw::pki::buildSubjectName("alice, admin", "ops");
    REQUIRE(name.ok());
    CHECK(gw::pki::formatNameRfc4514(name->get()) == "CN=alice\\, admin,OU=ops");
    CHECK(gw::pki::commonNameOf(name->get()) == "alice, admin");
  }

  TEST_CASE("printed name escapes control characters") {
    auto name = gw::pki::buildSubjectName(
        "a\x1b[2Jb\xc2\x9b"
        "c",
        "");
    REQUIRE(name.ok());
    CHECK(gw::pki::formatNameRfc4514(name->get()) == "CN=a\\1B[2Jb\\C2\\9Bc");
  }
}
