#include "gateway/pki/certificate.h"

#include <string>

#include <doctest/doctest.h>
#include <openssl/x509v3.h>

#include "gateway/pki/name.h"
#include "gateway/pki/subject_alt_name.h"
#include "tests/unit/pki/test_credentials.h"

using gw::pki::CertificateProfile;
using gw::pki::testing::kDay;
using gw::pki::testing::kTestNow;
using gw::pki::testing::makeCredential;

TEST_SUITE("pki certificate") {
  TEST_CASE("root CA has CA extensions") {
    auto root = makeCredential(CertificateProfile::RootCa, "Test Root CA", nullptr);
    X509* certificate = root.certificate.get();
    CHECK(X509_get_version(certificate) == X509_VERSION_3);
    CHECK(X509_check_ca(certificate) == 1);
    CHECK(X509_get_key_usage(certificate) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
    CHECK(X509_get0_subject_key_id(certificate) != nullptr);
    CHECK(X509_get_signature_nid(certificate) == NID_ecdsa_with_SHA256);
    bssl::UniquePtr<EVP_PKEY> publicKey(X509_get_pubkey(certificate));
    CHECK(X509_verify(certificate, publicKey.get()) == 1);
  }

  TEST_CASE("intermediate has path length zero") {
    auto root = makeCredential(CertificateProfile::RootCa, "Test Root CA", nullptr);
    auto intermediate =
        makeCredential(CertificateProfile::IntermediateCa, "Test Intermediate CA", &root);
    CHECK(X509_check_ca(intermediate.certificate.get()) == 1);
    CHECK(X509_get_pathlen(intermediate.certificate.get()) == 0);
    CHECK(X509_get0_authority_key_id(intermediate.certificate.get()) != nullptr);
  }

  TEST_CASE("client leaf has clientAuth only") {
    auto root = makeCredential(CertificateProfile::RootCa, "Test Root CA", nullptr);
    auto leaf = makeCredential(CertificateProfile::Client, "alice", &root);
    X509* certificate = leaf.certificate.get();
    CHECK(X509_check_ca(certificate) == 0);
    CHECK(X509_get_extended_key_usage(certificate) == XKU_SSL_CLIENT);
    CHECK(X509_get_key_usage(certificate) == KU_DIGITAL_SIGNATURE);
    CHECK(gw::pki::formatNameRfc4514(X509_get_issuer_name(certificate)) == "CN=Test Root CA");
    bssl::UniquePtr<EVP_PKEY> caKey(X509_get_pubkey(root.certificate.get()));
    CHECK(X509_verify(certificate, caKey.get()) == 1);
  }

  TEST_CASE("server leaf carries requested SANs") {
    auto root = makeCredential(CertificateProfile::RootCa, "Test Root CA", nullptr);
    gw::pki::CertificateRequest request;
    request.profile = CertificateProfile::Server;
    request.commonName = "demo-server";
    request.validity = {kTestNow, kTestNow + kDay};
    for (const char* text : {"dns:localhost", "ip:127.0.0.1", "ip:::1", "uri:spiffe://t/s"}) {
      auto san = gw::pki::parseSubjectAltName(text);
      REQUIRE(san.ok());
      request.subjectAltNames.push_back(*san);
    }
    auto leaf = gw::pki::createCredential(request, gw::pki::KeyType::EcP256, &root);
    REQUIRE(leaf.ok());
    CHECK(gw::pki::formatSubjectAltNames(leaf->certificate.get()) ==
          "DNS:localhost, IP:127.0.0.1, IP:::1, URI:spiffe://t/s");
    CHECK(X509_get_extended_key_usage(leaf->certificate.get()) == XKU_SSL_SERVER);
  }

  TEST_CASE("RSA server adds keyEncipherment") {
    auto root = makeCredential(CertificateProfile::RootCa, "Test Root CA", nullptr);
    gw::pki::CertificateRequest request;
    request.profile = CertificateProfile::Server;
    request.commonName = "rsa.example";
    request.validity = {kTestNow, kTestNow + kDay};
    auto leaf = gw::pki::createCredential(request, gw::pki::KeyType::Rsa2048, &root);
    REQUIRE(leaf.ok());
    CHECK(X509_get_key_usage(leaf->certificate.get()) ==
          (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
  }

  TEST_CASE("Ed25519 leaf key is supported") {
    auto root = makeCredential(CertificateProfile::RootCa, "Test Root CA", nullptr);
    gw::pki::CertificateRequest request;
    request.commonName = "ed";
    request.validity = {kTestNow, kTestNow + kDay};
    auto leaf = gw::pki::createCredential(request, gw::pki::KeyType::Ed25519, &root);
    REQUIRE(leaf.ok());
    bssl::UniquePtr<EVP_PKEY> key(X509_get_pubkey(leaf->certificate.get()));
    CHECK(EVP_PKEY_id(key.get()) == EVP_PKEY_ED25519);
  }

  TEST_CASE("validity times are exact") {
    auto root = makeCredential(CertificateProfile::RootCa, "Test Root CA", nullptr,
                               {kTestNow - 30 * kDay, kTestNow - kDay});
    auto notBefore = gw::pki::asn1TimeToUnix(X509_get0_notBefore(root.certificate.get()));
    auto notAfter = gw::pki::asn1TimeToUnix(X509_get0_notAfter(root.certificate.get()));
    REQUIRE(notBefore.ok());
    REQUIRE(notAfter.ok());
    CHECK(*notBefore == kTestNow - 30 * kDay);
    CHECK(*notAfter == kTestNow - kDay);
  }

  TEST_CASE("empty validity is rejected") {
    gw::pki::CertificateRequest request;
    request.commonName = "x";
    request.validity = {kTestNow, kTestNow};
    auto credential = gw::pki::createCredential(request, gw::pki::KeyType::EcP256, nullptr);
    REQUIRE_FALSE(credential.ok());
    CHECK(credential.error().find("notAfter") != std::string::npos);
  }

  TEST_CASE("PEM round trip keeps order") {
    auto root = makeCredential(CertificateProfile::RootCa, "Test Root CA", nullptr);
    auto leaf = makeCredential(CertificateProfile::Client, "alice", &root);
    auto first = gw::pki::encodeCertificatePem(leaf.certificate.get());
    auto second = gw::pki::encodeCertificatePem(root.certificate.get());
    REQUIRE(first.ok());
    REQUIRE(second.ok());
    auto parsed = gw::pki::parseCertificatesPem(*first + *second, "bundle");
    REQUIRE(parsed.ok());
    REQUIRE(parsed->size() == 2);
    CHECK(X509_cmp((*parsed)[0].get(), leaf.certificate.get()) == 0);
    CHECK(X509_cmp((*parsed)[1].get(), root.certificate.get()) == 0);
  }

  TEST_CASE("PEM without certificate is rejected") {
    auto parsed = gw::pki::parseCertificatesPem("not a certificate\n", "junk.pem");
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().find("junk.pem") != std::string::npos);
  }
}
