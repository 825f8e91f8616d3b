#include "gateway/common/log.h"

#include <doctest/doctest.h>

TEST_SUITE("log") {
  TEST_CASE("plain value is not quoted") {
    CHECK(gw::log::formatValue("good-client") == "good-client");
  }

  TEST_CASE("value with space is quoted") {
    CHECK(gw::log::formatValue("Demo Root CA") == "\"Demo Root CA\"");
  }

  TEST_CASE("newline cannot start a new line") {
    CHECK(gw::log::formatValue("a\nb") == "\"a\\x0ab\"");
  }

  TEST_CASE("quotes and backslashes are escaped") {
    CHECK(gw::log::formatValue("a\"b\\c") == "\"a\\\"b\\\\c\"");
  }

  TEST_CASE("empty value is quoted") {
    CHECK(gw::log::formatValue("") == "\"\"");
  }

  TEST_CASE("UTF-8 name stays readable") {
    CHECK(gw::log::formatValue("J\xc3\xb6rg") == "\"J\xc3\xb6rg\"");
  }

  TEST_CASE("C1 control character is escaped") {
    CHECK(gw::log::formatValue("a\xc2\x9b"
                               "b") == "\"a\\xc2\\x9bb\"");
  }

  TEST_CASE("invalid UTF-8 byte is escaped") {
    CHECK(gw::log::formatValue("a\xff") == "\"a\\xff\"");
  }

  TEST_CASE("overlong encoding is escaped") {
    CHECK(gw::log::formatValue("\xc0\xaf") == "\"\\xc0\\xaf\"");
  }
}
