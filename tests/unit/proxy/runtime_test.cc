#include "gateway/proxy/runtime.h"

#include <string>
#include <sys/stat.h>

#include <doctest/doctest.h>

#include "tests/unit/support_certs.h"
#include "tests/unit/support_temp_dir.h"

namespace {

using gw::proxy::buildRuntime;
using gw::proxy::Runtime;
using gw::testing::CertSpec;
using gw::testing::KeyPair;
using gw::testing::TempDir;

// TlsFiles writes a working server certificate, key, client CA and CRL to
// a temporary directory; each test breaks one of them.
struct TlsFiles {
  TempDir dir;
  KeyPair ca = gw::testing::makeCa("Test CA");
  gw::config::GatewayConfig config;

  TlsFiles() {
    KeyPair server = serverPair(CertSpec{});
    config.tls.cert_file = dir.write("server.pem", gw::testing::certPem(server.cert.get()));
    config.tls.key_file = writeKey("server.key", server, 0600);
    config.tls.client_ca_file = dir.write("ca.pem", gw::testing::certPem(ca.cert.get()));
    config.tls.crl_file = dir.write("ca.crl", gw::testing::crlPem(makeCrl(-3600, 86400).get()));
  }

  KeyPair serverPair(CertSpec spec) {
    spec.subject = {{"CN", "localhost"}};
    if (spec.extended_key_usage.empty()) {
      spec.extended_key_usage = "serverAuth";
    }
    return gw::testing::makeKeyPair(spec, &ca);
  }

  std::string writeKey(const std::string& name, const KeyPair& pair, mode_t mode) {
    std::string path = dir.write(name, gw::testing::keyPem(pair.key.get()));
    chmod(path.c_str(), mode);
    return path;
  }

  // replaceServer writes a server certificate built from |spec| and its key.
  void replaceServer(const CertSpec& spec) {
    KeyPair server = serverPair(spec);
    config.tls.cert_file = dir.write("server.pem", gw::testing::certPem(server.cert.get()));
    config.tls.key_file = writeKey("server.key", server, 0600);
  }

  // makeCrl builds an empty CRL of |ca| with the given update times, in
  // seconds from now.
  bssl::UniquePtr<X509_CRL> makeCrl(long last_update_s, long next_update_s) {
    bssl::UniquePtr<X509_CRL> crl = gw::testing::makeCrl(ca, {});
    bssl::UniquePtr<ASN1_TIME> last_update(X509_gmtime_adj(nullptr, last_update_s));
    bssl::UniquePtr<ASN1_TIME> next_update(X509_gmtime_adj(nullptr, next_update_s));
    REQUIRE(X509_CRL_set1_lastUpdate(crl.get(), last_update.get()) == 1);
    REQUIRE(X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) == 1);
    REQUIRE(X509_CRL_sign(crl.get(), ca.key.get(), EVP_sha256()) > 0);
    return crl;
  }
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_SUITE("proxy.buildRuntime TLS checks") {
  TEST_CASE("working TLS files load without warnings") {
    TlsFiles files;

    auto runtime = buildRuntime(files.config);

    REQUIRE_MESSAGE(runtime.ok(), runtime.error());
    CHECK((*runtime)->warnings.empty());
  }

  TEST_CASE("CRL next update is exported as an expiry") {
    TlsFiles files;

    auto runtime = buildRuntime(files.config);

    REQUIRE_MESSAGE(runtime.ok(), runtime.error());
    int crl_entries = 0;
    for (const gw::tls::CertificateExpiry& expiry : (*runtime)->expiries) {
      if (expiry.role == "crl") {
        crl_entries++;
        CHECK(expiry.subject == "CN=Test CA,O=Demo");
        CHECK(expiry.not_after.size() == 20);
      }
    }
    CHECK(crl_entries == 1);
  }

  TEST_CASE("expired CRL gives a warning naming nextUpdate") {
    TlsFiles files;
    files.dir.write("ca.crl", gw::testing::crlPem(files.makeCrl(-7200, -60).get()));

    auto runtime = buildRuntime(files.config);

    REQUIRE_MESSAGE(runtime.ok(), runtime.error());
    REQUIRE((*runtime)->warnings.size() == 1);
    const gw::proxy::ConfigWarning& warning = (*runtime)->warnings[0];
    CHECK(warning.file == files.config.tls.crl_file);
    CHECK(contains(warning.problem, "expired at its nextUpdate 20"));
    CHECK(contains(warning.fix, "certgate pki crl"));
  }

  TEST_CASE("leaf certificate as client CA is rejected") {
    TlsFiles files;
    CertSpec spec;
    spec.subject = {{"CN", "some-client"}};
    spec.extended_key_usage = "clientAuth";
    KeyPair leaf = gw::testing::makeKeyPair(spec, &files.ca);
    files.dir.write("ca.pem", gw::testing::certPem(leaf.cert.get()));
    files.config.tls.crl_file.clear();

    auto runtime = buildRuntime(files.config);

    REQUIRE_FALSE(runtime.ok());
    CHECK(contains(runtime.error(), files.config.tls.client_ca_file + " contains CN=some-client"));
    CHECK(contains(runtime.error(), "not a CA certificate"));
  }

  TEST_CASE("expired server certificate is rejected") {
    TlsFiles files;
    CertSpec spec;
    spec.not_before_s = -7200;
    spec.not_after_s = -60;
    files.replaceServer(spec);

    auto runtime = buildRuntime(files.config);

    REQUIRE_FALSE(runtime.ok());
    CHECK(contains(runtime.error(), "[tls] cert " + files.config.tls.cert_file));
    CHECK(contains(runtime.error(), "expired at"));
  }

  TEST_CASE("server certificate not yet valid is rejected") {
    TlsFiles files;
    CertSpec spec;
    spec.not_before_s = 3600;
    spec.not_after_s = 7200;
    files.replaceServer(spec);

    auto runtime = buildRuntime(files.config);

    REQUIRE_FALSE(runtime.ok());
    CHECK(contains(runtime.error(), "is not valid before"));
  }

  TEST_CASE("server certificate without serverAuth is rejected") {
    TlsFiles files;
    CertSpec spec;
    spec.extended_key_usage = "clientAuth";
    files.replaceServer(spec);

    auto runtime = buildRuntime(files.config);

    REQUIRE_FALSE(runtime.ok());
    CHECK(contains(runtime.error(), "without serverAuth"));
  }

  TEST_CASE("key file readable by others gives a chmod warning") {
    TlsFiles files;
    chmod(files.config.tls.key_file.c_str(), 0644);

    auto runtime = buildRuntime(files.config);

    REQUIRE_MESSAGE(runtime.ok(), runtime.error());
    REQUIRE((*runtime)->warnings.size() == 1);
    CHECK(contains((*runtime)->warnings[0].problem, "mode 0644"));
    CHECK((*runtime)->warnings[0].fix == "chmod 600 " + files.config.tls.key_file);
  }

  TEST_CASE("key path that is a directory is named") {
    TlsFiles files;
    files.config.tls.key_file = files.dir.path().string();

    auto runtime = buildRuntime(files.config);

    REQUIRE_FALSE(runtime.ok());
    CHECK(runtime.error() ==
          "[tls] key " + files.dir.path().string() + " is a directory; name a PEM file");
  }
}
