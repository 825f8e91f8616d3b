#include "gateway/pki/demo.h"

#include <string>
#include <sys/stat.h>

#include <doctest/doctest.h>

#include "gateway/pki/file_io.h"
#include "tests/unit/pki/temp_dir.h"
#include "tests/unit/pki/test_credentials.h"

using gw::pki::testing::kTestNow;
using gw::pki::testing::TempDir;

TEST_SUITE("pki demo") {
  TEST_CASE("demo writes every file") {
    TempDir dir;
    auto written = gw::pki::createDemoPki({dir.file("certs"), false}, kTestNow);
    REQUIRE(written.ok());
    CHECK(written->size() == 16);
    CHECK(gw::pki::pathExists(dir.file("certs/client_good.p12")));
    CHECK(gw::pki::pathExists(dir.file("certs/client_foreign.key")));
  }

  TEST_CASE("demo keys have mode 0600") {
    TempDir dir;
    auto written = gw::pki::createDemoPki({dir.file("certs"), false}, kTestNow);
    REQUIRE(written.ok());
    for (const std::string& path : *written) {
      struct stat info;
      REQUIRE(stat(path.c_str(), &info) == 0);
      bool secret = path.ends_with(".key") || path.ends_with(".p12");
      CHECK((info.st_mode & 0777) == (secret ? 0600u : 0644u));
    }
  }

  TEST_CASE("demo rejects existing files") {
    TempDir dir;
    REQUIRE(gw::pki::createDemoPki({dir.file("certs"), false}, kTestNow).ok());
    auto before = gw::pki::readFile(dir.file("certs/ca.key"));
    REQUIRE(before.ok());
    auto again = gw::pki::createDemoPki({dir.file("certs"), false}, kTestNow);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().find("ca.crt already exists") != std::string::npos);
    CHECK(again.error().find("--force") != std::string::npos);
    auto after = gw::pki::readFile(dir.file("certs/ca.key"));
    REQUIRE(after.ok());
    CHECK(*after == *before);
  }

  TEST_CASE("demo with force replaces keys") {
    TempDir dir;
    REQUIRE(gw::pki::createDemoPki({dir.file("certs"), false}, kTestNow).ok());
    auto before = gw::pki::readFile(dir.file("certs/ca.key"));
    REQUIRE(before.ok());
    REQUIRE(gw::pki::createDemoPki({dir.file("certs"), true}, kTestNow).ok());
    auto after = gw::pki::readFile(dir.file("certs/ca.key"));
    REQUIRE(after.ok());
    CHECK(*after != *before);
  }
}
