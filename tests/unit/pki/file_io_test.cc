#include "gateway/pki/file_io.h"

#include <string>
#include <sys/stat.h>

#include <doctest/doctest.h>
#include <openssl/evp.h>

#include "gateway/pki/key.h"
#include "tests/unit/pki/temp_dir.h"

using gw::pki::FileMode;
using gw::pki::Overwrite;
using gw::pki::testing::TempDir;

namespace {

unsigned permissionsOf(const std::string& path) {
  struct stat info;
  REQUIRE(stat(path.c_str(), &info) == 0);
  return info.st_mode & 07777;
}

}  // namespace

TEST_SUITE("pki file_io") {
  TEST_CASE("private key file has mode 0600") {
    TempDir dir;
    auto key = gw::pki::generateKey(gw::pki::KeyType::EcP256);
    REQUIRE(key.ok());
    std::string path = dir.file("a.key");
    REQUIRE(gw::pki::writePrivateKeyFile(path, key->get(), Overwrite::No).ok());
    CHECK(permissionsOf(path) == 0600);
  }

  TEST_CASE("replaced private file keeps 0600") {
    TempDir dir;
    std::string path = dir.file("a.key");
    REQUIRE(gw::pki::writeFile(path, "old", FileMode::Public, Overwrite::No).ok());
    REQUIRE(permissionsOf(path) == 0644);
    REQUIRE(gw::pki::writeFile(path, "new", FileMode::Private, Overwrite::Yes).ok());
    CHECK(permissionsOf(path) == 0600);
    auto content = gw::pki::readFile(path);
    REQUIRE(content.ok());
    CHECK(*content == "new");
  }

  TEST_CASE("existing file is not overwritten") {
    TempDir dir;
    std::string path = dir.file("a.key");
    REQUIRE(gw::pki::writeFile(path, "first", FileMode::Private, Overwrite::No).ok());
    auto status = gw::pki::writeFile(path, "second", FileMode::Private, Overwrite::No);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().find("already exists") != std::string::npos);
    auto content = gw::pki::readFile(path);
    REQUIRE(content.ok());
    CHECK(*content == "first");
  }

  TEST_CASE("symlink target is not followed") {
    TempDir dir;
    std::string target = dir.file("target");
    std::string link = dir.file("link.key");
    REQUIRE(symlink(target.c_str(), link.c_str()) == 0);
    CHECK_FALSE(gw::pki::writeFile(link, "secret", FileMode::Private, Overwrite::No).ok());
    CHECK_FALSE(gw::pki::pathExists(target));
  }

  TEST_CASE("new directory has mode 0700") {
    TempDir dir;
    std::string path = dir.file("a/b");
    REQUIRE(gw::pki::createDirectory(path).ok());
    CHECK(permissionsOf(path) == 0700);
    CHECK(permissionsOf(dir.file("a")) == 0700);
  }

  TEST_CASE("directory over file is rejected") {
    TempDir dir;
    std::string path = dir.file("plain");
    REQUIRE(gw::pki::writeFile(path, "x", FileMode::Public, Overwrite::No).ok());
    CHECK_FALSE(gw::pki::createDirectory(path).ok());
  }

  TEST_CASE("joinPath avoids double slash") {
    CHECK(gw::pki::joinPath("certs/", "ca.crt") == "certs/ca.crt");
    CHECK(gw::pki::joinPath("certs", "ca.crt") == "certs/ca.crt");
    CHECK(gw::pki::joinPath("/", "ca.crt") == "/ca.crt");
    CHECK(gw::pki::joinPath("", "ca.crt") == "ca.crt");
  }
}
