#include <set>
#include <string>

#include <doctest/doctest.h>
#include <openssl/bn.h>
#include <openssl/mem.h>

#include "gateway/pki/certificate.h"

TEST_SUITE("pki serial") {
  TEST_CASE("serial is positive") {
    auto serial = gw::pki::generateSerial();
    REQUIRE(serial.ok());
    CHECK_FALSE(BN_is_negative(serial->get()));
    CHECK_FALSE(BN_is_zero(serial->get()));
  }

  TEST_CASE("serial has exactly 128 bits") {
    for (int i = 0; i < 50; i++) {
      auto serial = gw::pki::generateSerial();
      REQUIRE(serial.ok());
      CHECK(BN_num_bits(serial->get()) == 128);
    }
  }

  TEST_CASE("serials are distinct") {
    std::set<std::string> seen;
    for (int i = 0; i < 200; i++) {
      auto serial = gw::pki::generateSerial();
      REQUIRE(serial.ok());
      char* hex = BN_bn2hex(serial->get());
      seen.insert(hex);
      OPENSSL_free(hex);
    }
    CHECK(seen.size() == 200);
  }
}
