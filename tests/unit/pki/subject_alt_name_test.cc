#include "gateway/pki/subject_alt_name.h"

#include <string>

#include <doctest/doctest.h>

using gw::pki::parseSubjectAltName;
using gw::pki::SanType;

TEST_SUITE("pki subject_alt_name") {
  TEST_CASE("dns prefix is case-insensitive") {
    auto san = parseSubjectAltName("DNS:api.example.com");
    REQUIRE(san.ok());
    CHECK(san->type == SanType::Dns);
    CHECK(san->value == "api.example.com");
  }

  TEST_CASE("IPv4 and IPv6 become raw bytes") {
    auto v4 = parseSubjectAltName("ip:127.0.0.1");
    REQUIRE(v4.ok());
    CHECK(v4->type == SanType::Ip);
    CHECK(v4->value == std::string("\x7f\x00\x00\x01", 4));
    auto v6 = parseSubjectAltName("ip:::1");
    REQUIRE(v6.ok());
    CHECK(v6->value.size() == 16);
    CHECK(v6->value.back() == '\x01');
  }

  TEST_CASE("uri and email are accepted") {
    auto uri = parseSubjectAltName("uri:spiffe://corp/ci/agent");
    REQUIRE(uri.ok());
    CHECK(uri->type == SanType::Uri);
    auto email = parseSubjectAltName("email:alice@example.com");
    REQUIRE(email.ok());
    CHECK(email->type == SanType::Email);
  }

  TEST_CASE("wildcard only as first label") {
    CHECK(parseSubjectAltName("dns:*.example.com").ok());
    CHECK_FALSE(parseSubjectAltName("dns:api.*.example.com").ok());
    CHECK_FALSE(parseSubjectAltName("dns:*").ok());
  }

  TEST_CASE("invalid values are rejected") {
    CHECK_FALSE(parseSubjectAltName("dns:").ok());
    CHECK_FALSE(parseSubjectAltName("dns:-bad.example.com").ok());
    CHECK_FALSE(parseSubjectAltName("dns:a..b").ok());
    CHECK_FALSE(parseSubjectAltName("dns:under_score.example").ok());
    CHECK_FALSE(parseSubjectAltName("ip:999.0.0.1").ok());
    CHECK_FALSE(parseSubjectAltName("uri:no-scheme").ok());
    CHECK_FALSE(parseSubjectAltName("uri:spiffe://a b").ok());
    CHECK_FALSE(parseSubjectAltName("email:nobody").ok());
    CHECK_FALSE(parseSubjectAltName("email:a@b@c").ok());
    CHECK_FALSE(parseSubjectAltName("dns:evil\n.example.com").ok());
  }

  TEST_CASE("comma in a value is rejected") {
    for (const char* text : {"uri:spiffe://a/x,DNS:admin.internal", "dns:a.example,b.example",
                             "email:a,b@example.com", "uri:spiffe://a/x,"}) {
      CAPTURE(text);
      auto san = parseSubjectAltName(text);
      REQUIRE_FALSE(san.ok());
      CHECK(san.error().find("cannot contain ','") != std::string::npos);
    }
    CHECK(parseSubjectAltName("uri:spiffe://a/x%2Cy").ok());
  }

  TEST_CASE("whitespace and control bytes are rejected") {
    for (const char* text : {"uri:spiffe://a/x y", "uri:spiffe://a/x\ty", "uri:spiffe://a/x\r\n",
                             "email:a\x01@example.com", "uri:spiffe://a/\xC3\xA9"}) {
      CAPTURE(text);
      CHECK_FALSE(parseSubjectAltName(text).ok());
    }
  }

  TEST_CASE("unknown prefix names the forms") {
    auto san = parseSubjectAltName("rid:1.2.3");
    REQUIRE_FALSE(san.ok());
    CHECK(san.error().find("dns:NAME") != std::string::npos);
  }

  TEST_CASE("label and name lengths are bounded") {
    CHECK(gw::pki::isValidDnsName(std::string(63, 'a') + ".com", false));
    CHECK_FALSE(gw::pki::isValidDnsName(std::string(64, 'a') + ".com", false));
    std::string longName;
    for (int i = 0; i < 64; i++) {
      longName += "abc.";
    }
    CHECK_FALSE(gw::pki::isValidDnsName(longName + "com", false));
  }
}
