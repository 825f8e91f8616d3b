#include "gateway/pki/pkcs12.h"

#include <string>

#include <doctest/doctest.h>
#include <openssl/bytestring.h>
#include <openssl/pkcs8.h>

#include "gateway/pki/pkcs12_modern.h"
#include "tests/unit/pki/test_credentials.h"

using gw::pki::CertificateProfile;
using gw::pki::Pkcs12Format;
using gw::pki::testing::makeCredential;

namespace {

// ParsedPkcs12 is what BoringSSL's independent PKCS#12 parser reads back.
struct ParsedPkcs12 {
  bool ok = false;
  bssl::UniquePtr<EVP_PKEY> key;
  bssl::UniquePtr<STACK_OF(X509)> certificates;
};

ParsedPkcs12 parse(const std::string& der, const char* password) {
  ParsedPkcs12 parsed;
  parsed.certificates.reset(sk_X509_new_null());
  CBS input;
  CBS_init(&input, reinterpret_cast<const uint8_t*>(der.data()), der.size());
  EVP_PKEY* key = nullptr;
  parsed.ok = PKCS12_get_key_and_certs(&key, parsed.certificates.get(), &input, password) == 1;
  parsed.key.reset(key);
  return parsed;
}

}  // namespace

TEST_SUITE("pki pkcs12") {
  TEST_CASE("modern bundle parses back") {
    auto ca = makeCredential(CertificateProfile::RootCa, "Test CA", nullptr);
    auto leaf = makeCredential(CertificateProfile::Client, "alice", &ca);
    gw::pki::Pkcs12Contents contents{
        leaf.key.get(), leaf.certificate.get(), {ca.certificate.get()}, "alice"};
    auto der = gw::pki::encodePkcs12(contents, "correct horse", Pkcs12Format::Modern);
    REQUIRE(der.ok());
    ParsedPkcs12 parsed = parse(*der, "correct horse");
    REQUIRE(parsed.ok);
    CHECK(EVP_PKEY_cmp(parsed.key.get(), leaf.key.get()) == 1);
    REQUIRE(sk_X509_num(parsed.certificates.get()) == 2);
    CHECK(X509_cmp(sk_X509_value(parsed.certificates.get(), 0), leaf.certificate.get()) == 0);
    CHECK(X509_cmp(sk_X509_value(parsed.certificates.get(), 1), ca.certificate.get()) == 0);
  }

  TEST_CASE("modern bundle rejects wrong password") {
    auto ca = makeCredential(CertificateProfile::RootCa, "Test CA", nullptr);
    auto leaf = makeCredential(CertificateProfile::Client, "alice", &ca);
    gw::pki::Pkcs12Contents contents{leaf.key.get(), leaf.certificate.get(), {}, ""};
    auto der = gw::pki::encodePkcs12(contents, "right", Pkcs12Format::Modern);
    REQUIRE(der.ok());
    CHECK_FALSE(parse(*der, "wrong").ok);
  }

  TEST_CASE("modern bundle with non-ASCII password") {
    auto ca = makeCredential(CertificateProfile::RootCa, "Test CA", nullptr);
    auto leaf = makeCredential(CertificateProfile::Client, "zoë", &ca);
    gw::pki::Pkcs12Contents contents{leaf.key.get(), leaf.certificate.get(), {}, "Zoë"};
    auto der = gw::pki::encodePkcs12(contents, "pässwörd€", Pkcs12Format::Modern);
    REQUIRE(der.ok());
    CHECK(parse(*der, "pässwörd€").ok);
  }

  TEST_CASE("legacy bundle parses back") {
    auto ca = makeCredential(CertificateProfile::RootCa, "Test CA", nullptr);
    auto leaf = makeCredential(CertificateProfile::Client, "bob", &ca);
    gw::pki::Pkcs12Contents contents{
        leaf.key.get(), leaf.certificate.get(), {ca.certificate.get()}, "bob"};
    auto der = gw::pki::encodePkcs12(contents, "demo", Pkcs12Format::Legacy);
    REQUIRE(der.ok());
    ParsedPkcs12 parsed = parse(*der, "demo");
    REQUIRE(parsed.ok);
    CHECK(EVP_PKEY_cmp(parsed.key.get(), leaf.key.get()) == 1);
    CHECK(sk_X509_num(parsed.certificates.get()) == 2);
  }

  TEST_CASE("mismatched key is rejected") {
    auto ca = makeCredential(CertificateProfile::RootCa, "Test CA", nullptr);
    auto leaf = makeCredential(CertificateProfile::Client, "alice", &ca);
    gw::pki::Pkcs12Contents contents{ca.key.get(), leaf.certificate.get(), {}, ""};
    auto der = gw::pki::encodePkcs12(contents, "pw", Pkcs12Format::Modern);
    REQUIRE_FALSE(der.ok());
    CHECK(der.error().find("does not match") != std::string::npos);
  }

  TEST_CASE("password validation rejects bad input") {
    CHECK_FALSE(gw::pki::validatePkcs12Password("").ok());
    CHECK_FALSE(gw::pki::validatePkcs12Password(std::string("a\0b", 3)).ok());
    CHECK_FALSE(gw::pki::validatePkcs12Password("\xff").ok());
    CHECK_FALSE(gw::pki::validatePkcs12Password("emoji \xf0\x9f\x94\x91").ok());
    CHECK(gw::pki::validatePkcs12Password("demo").ok());
  }

  TEST_CASE("generated passwords are strong") {
    std::string first = gw::pki::generatePkcs12Password();
    std::string second = gw::pki::generatePkcs12Password();
    CHECK(first.size() == 24);
    CHECK(first != second);
    CHECK(first.find_first_of("0O1lI") == std::string::npos);
    CHECK(gw::pki::validatePkcs12Password(first).ok());
  }

  TEST_CASE("key derivation rejects long keys") {
    CHECK_FALSE(gw::pki::derivePkcs12Key(std::string(2, '\0'), "salt", 3, 1, 33).ok());
    CHECK(gw::pki::derivePkcs12Key(std::string(2, '\0'), "salt", 3, 1, 32).ok());
  }
}
