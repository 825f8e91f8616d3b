#include "gateway/pki/ca_store.h"

#include <string>

#include <doctest/doctest.h>

#include "gateway/pki/file_io.h"
#include "gateway/pki/key.h"
#include "tests/unit/pki/temp_dir.h"
#include "tests/unit/pki/test_credentials.h"

using gw::pki::CaStore;
using gw::pki::testing::kDay;
using gw::pki::testing::kTestNow;
using gw::pki::testing::TempDir;

namespace {

gw::pki::CaInitOptions initOptions(const TempDir& dir) {
  gw::pki::CaInitOptions options;
  options.directory = dir.file("ca");
  options.commonName = "Unit Root CA";
  return options;
}

gw::pki::CertificateRequest clientRequest(const std::string& commonName) {
  gw::pki::CertificateRequest request;
  request.commonName = commonName;
  request.validity = {kTestNow, kTestNow + kDay};
  return request;
}

bssl::UniquePtr<EVP_PKEY> newKey() {
  auto key = gw::pki::generateKey(gw::pki::KeyType::EcP256);
  REQUIRE(key.ok());
  return std::move(key).value();
}

}  // namespace

TEST_SUITE("pki ca_store") {
  TEST_CASE("init writes the CA files") {
    TempDir dir;
    auto written = gw::pki::initCa(initOptions(dir), kTestNow);
    REQUIRE(written.ok());
    CHECK(written->size() == 6);
    for (const char* name : {"root.crt", "root.key", "intermediate.crt", "intermediate.key",
                             "chain.crt", "index.txt"}) {
      CHECK(gw::pki::pathExists(dir.file("ca/") + name));
    }
  }

  TEST_CASE("init rejects an existing CA") {
    TempDir dir;
    REQUIRE(gw::pki::initCa(initOptions(dir), kTestNow).ok());
    auto again = gw::pki::initCa(initOptions(dir), kTestNow);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().find("already exists; pass --force") != std::string::npos);
  }

  TEST_CASE("intermediate name replaces Root") {
    CHECK(gw::pki::defaultIntermediateName("Acme Root CA") == "Acme Intermediate CA");
    CHECK(gw::pki::defaultIntermediateName("Acme") == "Acme Intermediate CA");
  }

  TEST_CASE("missing directory names init") {
    TempDir dir;
    auto store = CaStore::open(dir.file("absent"));
    REQUIRE_FALSE(store.ok());
    CHECK(store.error().find("not found") != std::string::npos);
    CHECK(store.error().find("certgate pki init --dir") != std::string::npos);
  }

  TEST_CASE("mismatched CA key is reported") {
    TempDir dir;
    REQUIRE(gw::pki::initCa(initOptions(dir), kTestNow).ok());
    auto otherKey = newKey();
    REQUIRE(gw::pki::writePrivateKeyFile(dir.file("ca/intermediate.key"), otherKey.get(),
                                         gw::pki::Overwrite::Yes)
                .ok());
    auto store = CaStore::open(dir.file("ca"));
    REQUIRE_FALSE(store.ok());
    CHECK(store.error().find("does not match") != std::string::npos);
  }

  TEST_CASE("root key is not needed") {
    TempDir dir;
    REQUIRE(gw::pki::initCa(initOptions(dir), kTestNow).ok());
    REQUIRE(gw::pki::removeFileIfExists(dir.file("ca/root.key")).ok());
    auto store = CaStore::open(dir.file("ca"));
    REQUIRE(store.ok());
    auto key = newKey();
    CHECK(store->issue(clientRequest("alice"), key.get()).ok());
  }

  TEST_CASE("issue and revoke update record") {
    TempDir dir;
    REQUIRE(gw::pki::initCa(initOptions(dir), kTestNow).ok());
    auto key = newKey();
    std::string serial;
    {
      auto store = CaStore::open(dir.file("ca"));
      REQUIRE(store.ok());
      auto certificate = store->issue(clientRequest("alice"), key.get());
      REQUIRE(certificate.ok());
      serial = gw::pki::serialHexOf(certificate->get());
      CHECK(store->checkIssuedHere(certificate->get(), "alice.crt").ok());
    }
    auto store = CaStore::open(dir.file("ca"));
    REQUIRE(store.ok());
    auto revoked = store->revoke(serial, gw::pki::RevocationReason::KeyCompromise, kTestNow + 60);
    REQUIRE(revoked.ok());
    CHECK(revoked->subject == "CN=alice");
    auto again = store->revoke(serial, gw::pki::RevocationReason::KeyCompromise, kTestNow + 60);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().find("already revoked") != std::string::npos);
    auto record = gw::pki::readFile(dir.file("ca/index.txt"));
    REQUIRE(record.ok());
    CHECK(record->find("R\t" + serial) != std::string::npos);
  }

  TEST_CASE("unknown serial cannot be revoked") {
    TempDir dir;
    REQUIRE(gw::pki::initCa(initOptions(dir), kTestNow).ok());
    auto store = CaStore::open(dir.file("ca"));
    REQUIRE(store.ok());
    auto revoked = store->revoke("ABCDEF", gw::pki::RevocationReason::Unspecified, kTestNow);
    REQUIRE_FALSE(revoked.ok());
    CHECK(revoked.error().find("not in") != std::string::npos);
  }

  TEST_CASE("leaf cannot outlive its CA") {
    TempDir dir;
    auto options = initOptions(dir);
    options.days = 10;
    REQUIRE(gw::pki::initCa(options, kTestNow).ok());
    auto store = CaStore::open(dir.file("ca"));
    REQUIRE(store.ok());
    auto request = clientRequest("alice");
    request.validity.notAfter = kTestNow + 11 * kDay;
    auto key = newKey();
    auto certificate = store->issue(request, key.get());
    REQUIRE_FALSE(certificate.ok());
    CHECK(certificate.error().find("after the issuing CA's notAfter") != std::string::npos);
  }

  TEST_CASE("CRL numbers increase") {
    TempDir dir;
    REQUIRE(gw::pki::initCa(initOptions(dir), kTestNow).ok());
    auto store = CaStore::open(dir.file("ca"));
    REQUIRE(store.ok());
    auto first = store->createCrl(kTestNow, kTestNow + kDay);
    auto second = store->createCrl(kTestNow, kTestNow + kDay);
    REQUIRE(first.ok());
    REQUIRE(second.ok());
    CHECK(first->crlNumber == 1);
    CHECK(second->crlNumber == 2);
    CHECK(first->pem.find("BEGIN X509 CRL") != std::string::npos);
  }

  TEST_CASE("foreign certificate is not issued here") {
    TempDir dir;
    REQUIRE(gw::pki::initCa(initOptions(dir), kTestNow).ok());
    auto store = CaStore::open(dir.file("ca"));
    REQUIRE(store.ok());
    auto foreign = gw::pki::testing::makeCredential(gw::pki::CertificateProfile::RootCa,
                                                    "Unit Intermediate CA", nullptr);
    auto status = store->checkIssuedHere(foreign.certificate.get(), "foreign.crt");
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().find("was not issued by") != std::string::npos);
  }
}
