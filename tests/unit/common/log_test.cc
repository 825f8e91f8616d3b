#include "gateway/common/log.h"

#include <doctest/doctest.h>

TEST_SUITE("log") {
  TEST_CASE("plain value is not quoted") { CHECK(gw::log::formatValue("good-client") == "good-client"); }

  TEST_CASE("value with space is quoted") {
    CHECK(gw::log::formatValue("Demo Root CA") == "\"Demo Root CA\"");
  }

  TEST_CASE("newline cannot start a new line") {
    CHECK(gw::log::formatValue("a\nb") == "\"a\\x0ab\"");
  }

  TEST_CASE("quotes and backslashes are escaped") {
    CHECK(gw::log::formatValue("a\"b\\c") == "\"a\\\"b\\\\c\"");
  }

  TEST_CASE("empty value is quoted") { CHECK(gw::log::formatValue("") == "\"\""); }
}
