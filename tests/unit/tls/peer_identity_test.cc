#include "gateway/tls/peer_identity.h"

#include <cctype>
#include <string>

#include <doctest/doctest.h>
#include <openssl/sha.h>

#include "tests/unit/support_certs.h"

namespace {

using gw::policy::Identity;
using gw::testing::CertSpec;
using gw::testing::KeyPair;
using gw::testing::makeCa;
using gw::testing::makeKeyPair;
using gw::tls::identityOf;
using gw::tls::nameToString;

// selfSigned builds a self-signed leaf certificate with |subject|.
KeyPair selfSigned(std::vector<gw::testing::NameEntry> subject) {
  CertSpec spec;
  spec.subject = std::move(subject);
  return makeKeyPair(spec);
}

bool isLowercaseHex(const std::string& text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

std::string upper(std::string text) {
  for (char& c : text) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return text;
}

bool isUppercaseHex(const std::string& text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

}  // namespace

TEST_SUITE("tls.identityOf") {
  TEST_CASE("single CN is extracted") {
    KeyPair pair = selfSigned({{"O", "Demo"}, {"CN", "good-client"}});

    Identity identity = identityOf(pair.cert.get());

    CHECK(identity.cn == "good-client");
    CHECK_FALSE(identity.cn_ambiguous);
  }

  TEST_CASE("two CN attributes are ambiguous") {
    KeyPair pair = selfSigned({{"CN", "good-client"}, {"O", "Demo"}, {"CN", "admin"}});

    Identity identity = identityOf(pair.cert.get());

    CHECK(identity.cn_ambiguous);
    CHECK(identity.cn.empty());
  }

  TEST_CASE("two equal CN attributes are ambiguous") {
    KeyPair pair = selfSigned({{"CN", "good-client"}, {"CN", "good-client"}});

    Identity identity = identityOf(pair.cert.get());

    CHECK(identity.cn_ambiguous);
    CHECK(identity.cn.empty());
  }

  TEST_CASE("subject without CN gives empty CN") {
    KeyPair pair = selfSigned({{"O", "Demo"}, {"OU", "Clients"}});

    Identity identity = identityOf(pair.cert.get());

    CHECK(identity.cn.empty());
    CHECK_FALSE(identity.cn_ambiguous);
    CHECK(identity.subject == "OU=Clients,O=Demo");
  }

  TEST_CASE("CN with NUL byte is unusable") {
    KeyPair pair = selfSigned({{"CN", std::string("good-client\0.evil", 17)}});

    Identity identity = identityOf(pair.cert.get());

    CHECK(identity.cn.empty());
    CHECK(identity.cn_ambiguous);
  }

  TEST_CASE("subject is RFC 4514, last RDN first") {
    KeyPair pair = selfSigned({{"C", "DE"}, {"O", "Demo"}, {"CN", "good-client"}});

    Identity identity = identityOf(pair.cert.get());

    CHECK(identity.subject == "CN=good-client,O=Demo,C=DE");
  }

  TEST_CASE("issuer is the signing CA's subject") {
    KeyPair ca = makeCa("Demo Root CA");
    CertSpec spec;
    spec.subject = {{"O", "Demo"}, {"CN", "good-client"}};
    KeyPair client = makeKeyPair(spec, &ca);

    Identity identity = identityOf(client.cert.get());

    CHECK(identity.subject == "CN=good-client,O=Demo");
    CHECK(identity.issuer == "CN=Demo Root CA,O=Demo");
  }

  TEST_CASE("special characters are escaped") {
    KeyPair pair = selfSigned({{"O", "Demo, Inc."}, {"CN", "a+b=c;\"d\"<e>\\"}});

    Identity identity = identityOf(pair.cert.get());

    CHECK(identity.cn == "a+b=c;\"d\"<e>\\");
    CHECK(identity.subject == "CN=a\\+b=c\\;\\\"d\\\"\\<e\\>\\\\,O=Demo\\, Inc.");
  }

  TEST_CASE("leading and trailing spaces are escaped") {
    KeyPair pair = selfSigned({{"CN", " padded "}, {"O", "#hash"}});

    Identity identity = identityOf(pair.cert.get());

    CHECK(identity.cn == " padded ");
    CHECK(identity.subject == "O=\\#hash,CN=\\ padded\\ ");
  }

  TEST_CASE("control characters are escaped in subject") {
    KeyPair pair = selfSigned({{"CN", "bad\nline"}});

    Identity identity = identityOf(pair.cert.get());

    CHECK(identity.cn == "bad\nline");
    CHECK(identity.subject.find('\n') == std::string::npos);
  }

  TEST_CASE("UTF-8 CN is preserved") {
    const std::string cn = "Zo\xC3\xAB-\xE5\xAE\xA2\xE6\x88\xB7";  // "Zoë-客户"
    KeyPair pair = selfSigned({{"O", "D\xC3\xA9mo"}, {"CN", cn}});

    Identity identity = identityOf(pair.cert.get());

    CHECK(identity.cn == cn);
    CHECK(identity.subject == "CN=" + cn + ",O=D\xC3\xA9mo");
  }

  TEST_CASE("BMPString CN is read as UTF-8") {
    // "Zoë" in UCS-2, big-endian.
    const std::string bmp("\x00Z\x00o\x00\xEB", 6);
    KeyPair pair = selfSigned({{"CN", bmp, V_ASN1_BMPSTRING}});

    Identity identity = identityOf(pair.cert.get());

    CHECK(identity.cn == "Zo\xC3\xAB");
    CHECK_FALSE(identity.cn_ambiguous);
  }

  TEST_CASE("fingerprint is SHA-256 of DER") {
    KeyPair pair = selfSigned({{"CN", "good-client"}});
    uint8_t* der = nullptr;
    int der_len = i2d_X509(pair.cert.get(), &der);
    REQUIRE(der_len > 0);
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256(der, static_cast<size_t>(der_len), digest);
    OPENSSL_free(der);
    std::string expected;
    static const char kDigits[] = "0123456789abcdef";
    for (uint8_t byte : digest) {
      expected += kDigits[byte >> 4];
      expected += kDigits[byte & 0x0f];
    }

    Identity identity = identityOf(pair.cert.get());

    CHECK(identity.fingerprint_sha256.size() == 64);
    CHECK(isLowercaseHex(identity.fingerprint_sha256));
    CHECK(identity.fingerprint_sha256 == expected);
  }

  TEST_CASE("different certificates differ in fingerprint") {
    KeyPair first = selfSigned({{"CN", "good-client"}});
    KeyPair second = selfSigned({{"CN", "good-client"}});

    CHECK(identityOf(first.cert.get()).fingerprint_sha256 !=
          identityOf(second.cert.get()).fingerprint_sha256);
  }

  TEST_CASE("serial is uppercase hex") {
    CertSpec spec;
    spec.subject = {{"CN", "good-client"}};
    spec.serial_hex = "0A1B2C3D4E5F";
    KeyPair pair = makeKeyPair(spec);

    Identity identity = identityOf(pair.cert.get());

    CHECK(isUppercaseHex(identity.serial_hex));
    CHECK(identity.serial_hex == "0A1B2C3D4E5F");
  }

  TEST_CASE("serial keeps every digit") {
    CertSpec spec;
    spec.subject = {{"CN", "good-client"}};
    spec.serial_hex = "7F00112233445566778899AABBCCDDEEFF001122";
    KeyPair pair = makeKeyPair(spec);

    Identity identity = identityOf(pair.cert.get());

    CHECK(upper(identity.serial_hex) == spec.serial_hex);
  }
}

TEST_SUITE("tls.nameToString") {
  TEST_CASE("empty name gives empty string") {
    bssl::UniquePtr<X509_NAME> name(X509_NAME_new());

    CHECK(nameToString(name.get()) == "");
  }

  TEST_CASE("multi-valued RDN uses plus") {
    bssl::UniquePtr<X509_NAME> name(X509_NAME_new());
    REQUIRE(X509_NAME_add_entry_by_txt(name.get(), "O", MBSTRING_UTF8,
                                       reinterpret_cast<const uint8_t*>("Demo"), -1, -1, 0));
    REQUIRE(X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                                       reinterpret_cast<const uint8_t*>("a"), -1, -1, 0));
    REQUIRE(X509_NAME_add_entry_by_txt(name.get(), "UID", MBSTRING_UTF8,
                                       reinterpret_cast<const uint8_t*>("b"), -1, -1, -1));

    std::string text = nameToString(name.get());

    CHECK((text == "CN=a+UID=b,O=Demo" || text == "UID=b+CN=a,O=Demo"));
  }
}
