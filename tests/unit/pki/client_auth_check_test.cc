#include "gateway/pki/client_auth_check.h"

#include <string>

#include <doctest/doctest.h>
#include <openssl/x509.h>

#include "gateway/pki/ca_record.h"
#include "gateway/pki/certificate.h"
#include "gateway/pki/crl.h"
#include "tests/unit/pki/test_credentials.h"

using gw::pki::CertificateProfile;
using gw::pki::verifyForClientAuth;
using gw::pki::testing::kDay;
using gw::pki::testing::kTestNow;
using gw::pki::testing::makeCredential;

TEST_SUITE("pki client_auth_check") {
  TEST_CASE("good client is accepted") {
    auto ca = makeCredential(CertificateProfile::RootCa, "Test CA", nullptr);
    auto leaf = makeCredential(CertificateProfile::Client, "good", &ca);
    auto verdict =
        verifyForClientAuth(leaf.certificate.get(), {}, {ca.certificate.get()}, {}, kTestNow);
    CHECK(verdict.accepted);
    CHECK(verdict.reason.empty());
  }

  TEST_CASE("expired client is explained") {
    auto ca = makeCredential(CertificateProfile::RootCa, "Test CA", nullptr);
    auto leaf = makeCredential(CertificateProfile::Client, "old", &ca,
                               {kTestNow - 30 * kDay, kTestNow - kDay});
    auto verdict =
        verifyForClientAuth(leaf.certificate.get(), {}, {ca.certificate.get()}, {}, kTestNow);
    CHECK_FALSE(verdict.accepted);
    CHECK(verdict.verifyError == X509_V_ERR_CERT_HAS_EXPIRED);
    CHECK(verdict.reason.find("expired:") == 0);
  }

  TEST_CASE("unknown CA is explained") {
    auto ca = makeCredential(CertificateProfile::RootCa, "Test CA", nullptr);
    auto foreign = makeCredential(CertificateProfile::RootCa, "Foreign CA", nullptr);
    auto leaf = makeCredential(CertificateProfile::Client, "stranger", &foreign);
    auto verdict =
        verifyForClientAuth(leaf.certificate.get(), {}, {ca.certificate.get()}, {}, kTestNow);
    CHECK_FALSE(verdict.accepted);
    CHECK(verdict.reason.find("unknown CA:") == 0);
    CHECK(verdict.reason.find("CN=Foreign CA") != std::string::npos);
  }

  TEST_CASE("server certificate has wrong purpose") {
    auto ca = makeCredential(CertificateProfile::RootCa, "Test CA", nullptr);
    auto leaf = makeCredential(CertificateProfile::Server, "server.example", &ca);
    auto verdict =
        verifyForClientAuth(leaf.certificate.get(), {}, {ca.certificate.get()}, {}, kTestNow);
    CHECK_FALSE(verdict.accepted);
    CHECK(verdict.verifyError == X509_V_ERR_INVALID_PURPOSE);
    CHECK(verdict.reason.find("wrong purpose:") == 0);
  }

  TEST_CASE("intermediate from untrusted list") {
    auto root = makeCredential(CertificateProfile::RootCa, "Test Root CA", nullptr);
    auto intermediate =
        makeCredential(CertificateProfile::IntermediateCa, "Test Intermediate CA", &root);
    auto leaf = makeCredential(CertificateProfile::Client, "alice", &intermediate);
    auto without =
        verifyForClientAuth(leaf.certificate.get(), {}, {root.certificate.get()}, {}, kTestNow);
    CHECK_FALSE(without.accepted);
    auto with = verifyForClientAuth(leaf.certificate.get(), {intermediate.certificate.get()},
                                    {root.certificate.get()}, {}, kTestNow);
    CHECK(with.accepted);
  }

  TEST_CASE("revoked client is explained") {
    auto ca = makeCredential(CertificateProfile::RootCa, "Test CA", nullptr);
    auto leaf = makeCredential(CertificateProfile::Client, "alice", &ca);
    gw::pki::RecordEntry entry{gw::pki::serialHexOf(leaf.certificate.get()),
                               kTestNow + kDay,
                               "CN=alice",
                               true,
                               kTestNow - 60,
                               gw::pki::RevocationReason::KeyCompromise};
    auto crl = gw::pki::buildCrl(ca.certificate.get(), ca.key.get(), {entry},
                                 {1, kTestNow - 60, kTestNow + kDay});
    REQUIRE(crl.ok());
    auto verdict = verifyForClientAuth(leaf.certificate.get(), {}, {ca.certificate.get()},
                                       {crl->get()}, kTestNow);
    CHECK_FALSE(verdict.accepted);
    CHECK(verdict.verifyError == X509_V_ERR_CERT_REVOKED);
    CHECK(verdict.reason.find("revoked:") == 0);
  }
}
