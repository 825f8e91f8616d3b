#include "gateway/tls/tls_session.h"

#include <chrono>
#include <string>
#include <thread>

#include <doctest/doctest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "gateway/tls/handshake_failure.h"
#include "gateway/tls/peer_identity.h"
#include "gateway/tls/tls_context.h"
#include "tests/unit/support_certs.h"
#include "tests/unit/support_temp_dir.h"

namespace {

using gw::testing::certPem;
using gw::testing::CertSpec;
using gw::testing::KeyPair;
using gw::testing::keyPem;
using gw::testing::makeCa;
using gw::testing::makeKeyPair;
using gw::testing::TempDir;
using gw::tls::classifyFailure;
using gw::tls::createServerContext;
using gw::tls::HandshakeFailure;
using gw::tls::TlsSession;
using gw::tls::TlsStatus;

KeyPair makeLeaf(const KeyPair& issuer, const std::string& cn, const std::string& usage) {
  CertSpec spec;
  spec.subject = {{"O", "Demo"}, {"CN", cn}};
  spec.serial_hex = "1001";
  spec.extended_key_usage = usage;
  return makeKeyPair(spec, &issuer);
}

// Pki is a client CA, a server certificate it signed, and the PEM files
// that createServerContext reads, in a fresh directory.
struct Pki {
  Pki() {
    config.cert_file = dir.write("server.pem", certPem(server.cert.get()));
    config.key_file = dir.write("server.key", keyPem(server.key.get()));
    config.client_ca_file = dir.write("clients-ca.pem", certPem(ca.cert.get()));
  }

  // context builds the server context and requires it to succeed.
  bssl::UniquePtr<SSL_CTX> context() const {
    auto result = createServerContext(config);
    REQUIRE_MESSAGE(result.ok(), result.error());
    return std::move(result.value());
  }

  TempDir dir;
  KeyPair ca = makeCa("Demo Root CA");
  KeyPair server = makeLeaf(ca, "localhost", "serverAuth");
  gw::config::TlsConfig config;
};

// TestClient is a client-side SSL over memory BIOs that trusts |trusted|
// for the server certificate and presents |identity| when it is set.
class TestClient {
 public:
  TestClient(X509* trusted, const KeyPair* identity, uint16_t max_version = TLS1_3_VERSION)
      : ctx_(SSL_CTX_new(TLS_method())) {
    REQUIRE(ctx_ != nullptr);
    SSL_CTX_set_max_proto_version(ctx_.get(), max_version);
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    REQUIRE(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_.get()), trusted) == 1);
    if (identity != nullptr) {
      REQUIRE(SSL_CTX_use_certificate(ctx_.get(), identity->cert.get()) == 1);
      REQUIRE(SSL_CTX_use_PrivateKey(ctx_.get(), identity->key.get()) == 1);
    }
    static const uint8_t kAlpn[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    REQUIRE(SSL_CTX_set_alpn_protos(ctx_.get(), kAlpn, sizeof(kAlpn)) == 0);
    // TLS 1.3 tickets reach the client only through the new-session callback.
    SSL_CTX_set_session_cache_mode(ctx_.get(), SSL_SESS_CACHE_CLIENT);
    SSL_CTX_sess_set_new_cb(ctx_.get(), [](SSL* ssl, SSL_SESSION* session) -> int {
      static_cast<TestClient*>(SSL_get_app_data(ssl))->session_.reset(session);
      return 1;  // keeps the reference
    });

    ssl_.reset(SSL_new(ctx_.get()));
    REQUIRE(ssl_ != nullptr);
    SSL_set_app_data(ssl_.get(), this);
    input_ = BIO_new(BIO_s_mem());
    output_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(input_, -1);
    SSL_set_bio(ssl_.get(), input_, output_);
    SSL_set_connect_state(ssl_.get());
  }

  SSL* ssl() const { return ssl_.get(); }

  void feed(const std::string& ciphertext) {
    if (!ciphertext.empty()) {
      BIO_write(input_, ciphertext.data(), static_cast<int>(ciphertext.size()));
    }
  }

  std::string takeOutput() {
    std::string out = gw::testing::memoryContents(output_);
    BIO_reset(output_);
    return out;
  }

  // handshake returns true once the client finished its handshake, and
  // sets |failed_| when the client hit a fatal error. It clears the error
  // queue so that the server reads only its own errors.
  bool handshake() {
    int ret = SSL_do_handshake(ssl_.get());
    int error = SSL_get_error(ssl_.get(), ret);
    failed_ =
        failed_ || (ret != 1 && error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE);
    ERR_clear_error();
    return ret == 1;
  }

  bool failed() const { return failed_; }

  // session returns the last session ticket the server sent, or null.
  SSL_SESSION* session() const { return session_.get(); }

  // offerSession makes the next handshake offer |session| for resumption.
  void offerSession(SSL_SESSION* session) { REQUIRE(SSL_set_session(ssl_.get(), session) == 1); }

  // readError reads once and returns the reason of the error that ended
  // the read, or 0 when data or nothing arrived.
  int readError() {
    char buf[256];
    int ret = SSL_read(ssl_.get(), buf, sizeof(buf));
    int reason = ret > 0 ? 0 : ERR_GET_REASON(ERR_peek_error());
    ERR_clear_error();
    return reason;
  }

 private:
  bssl::UniquePtr<SSL_CTX> ctx_;
  bssl::UniquePtr<SSL> ssl_;
  BIO* input_ = nullptr;   // owned by ssl_
  BIO* output_ = nullptr;  // owned by ssl_
  bool failed_ = false;
  bssl::UniquePtr<SSL_SESSION> session_;
};

struct Outcome {
  TlsStatus server = TlsStatus::Ok;
  bool client_done = false;
};

// runHandshake passes bytes between |client| and |server| until neither
// has anything more to send.
Outcome runHandshake(TlsSession& server, TestClient& client) {
  Outcome outcome;
  for (int round = 0; round < 20; round++) {
    if (!outcome.client_done && !client.failed()) {
      outcome.client_done = client.handshake();
    }
    std::string to_server = client.takeOutput();
    server.feed(to_server);
    if (outcome.server == TlsStatus::Ok) {
      outcome.server = server.handshake();
    }
    std::string to_client = server.takeOutput();
    client.feed(to_client);
    if (to_server.empty() && to_client.empty() && outcome.server != TlsStatus::Ok) {
      break;
    }
  }
  return outcome;
}

// fullHandshakeSession completes a full handshake of |identity| with a
// server on |ctx| and returns the session ticket the client received.
bssl::UniquePtr<SSL_SESSION> fullHandshakeSession(const Pki& pki, SSL_CTX* ctx,
                                                  const KeyPair& identity) {
  TlsSession server(ctx);
  TestClient client(pki.ca.cert.get(), &identity);
  REQUIRE(runHandshake(server, client).server == TlsStatus::Done);
  REQUIRE(SSL_session_reused(server.ssl()) == 0);
  CHECK(client.readError() == 0);  // reads the NewSessionTicket
  REQUIRE(client.session() != nullptr);
  return bssl::UpRef(client.session());
}

}  // namespace

TEST_SUITE("tls.TlsSession") {
  TEST_CASE("good client completes handshake") {
    Pki pki;
    KeyPair client_identity = makeLeaf(pki.ca, "good-client", "clientAuth");
    bssl::UniquePtr<SSL_CTX> ctx = pki.context();
    TlsSession server(ctx.get());
    TestClient client(pki.ca.cert.get(), &client_identity);

    Outcome outcome = runHandshake(server, client);

    CHECK(outcome.server == TlsStatus::Done);
    CHECK(outcome.client_done);
    CHECK(server.info().verify_error == 0);
    CHECK(server.info().alert_sent == -1);
    CHECK(server.info().rejected == nullptr);
    CHECK(SSL_version(server.ssl()) == TLS1_3_VERSION);
    REQUIRE(server.info().verified != nullptr);
    CHECK(server.info().verified->identity->cn == "good-client");
    const STACK_OF(CRYPTO_BUFFER)* peer = SSL_get0_peer_certificates(server.ssl());
    REQUIRE(peer != nullptr);
    CHECK(sk_CRYPTO_BUFFER_num(peer) == 1);
  }

  TEST_CASE("server selects http/1.1 by ALPN") {
    Pki pki;
    KeyPair client_identity = makeLeaf(pki.ca, "good-client", "clientAuth");
    bssl::UniquePtr<SSL_CTX> ctx = pki.context();
    TlsSession server(ctx.get());
    TestClient client(pki.ca.cert.get(), &client_identity);

    REQUIRE(runHandshake(server, client).server == TlsStatus::Done);

    const uint8_t* protocol = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(server.ssl(), &protocol, &len);
    CHECK(std::string(reinterpret_cast<const char*>(protocol), len) == "http/1.1");
  }

  TEST_CASE("application data flows both ways") {
    Pki pki;
    KeyPair client_identity = makeLeaf(pki.ca, "good-client", "clientAuth");
    bssl::UniquePtr<SSL_CTX> ctx = pki.context();
    TlsSession server(ctx.get());
    TestClient client(pki.ca.cert.get(), &client_identity);
    REQUIRE(runHandshake(server, client).server == TlsStatus::Done);
    const std::string request = "GET /secret HTTP/1.1\r\nHost: localhost\r\n\r\n";

    REQUIRE(SSL_write(client.ssl(), request.data(), static_cast<int>(request.size())) ==
            static_cast<int>(request.size()));
    server.feed(client.takeOutput());
    std::string received;
    TlsStatus read_status = server.read(&received);

    CHECK(read_status == TlsStatus::Ok);
    CHECK(received == request);

    REQUIRE(server.write("pong"));
    CHECK(server.hasOutput());
    client.feed(server.takeOutput());
    CHECK_FALSE(server.hasOutput());
    char buf[16];
    int read_len = SSL_read(client.ssl(), buf, sizeof(buf));
    REQUIRE(read_len == 4);
    CHECK(std::string(buf, 4) == "pong");
  }

  TEST_CASE("records split across feeds are read") {
    Pki pki;
    KeyPair client_identity = makeLeaf(pki.ca, "good-client", "clientAuth");
    bssl::UniquePtr<SSL_CTX> ctx = pki.context();
    TlsSession server(ctx.get());
    TestClient client(pki.ca.cert.get(), &client_identity);
    REQUIRE(runHandshake(server, client).server == TlsStatus::Done);
    const std::string first = "GET /a HTTP/1.1\r\n\r\n";
    const std::string second = "GET /b HTTP/1.1\r\n\r\n";
    REQUIRE(SSL_write(client.ssl(), first.data(), static_cast<int>(first.size())) > 0);
    REQUIRE(SSL_write(client.ssl(), second.data(), static_cast<int>(second.size())) > 0);
    SSL_shutdown(client.ssl());
    std::string records = client.takeOutput();
    std::string received;

    // The first half ends inside the second record, so only the first record
    // is read.
    server.feed(std::string_view(records).substr(0, records.size() / 2));
    CHECK(server.read(&received) == TlsStatus::Ok);
    CHECK(received == first);

    server.feed(std::string_view(records).substr(records.size() / 2));
    CHECK(server.read(&received) == TlsStatus::Closed);
    CHECK(received == first + second);
  }

  TEST_CASE("peekOutput shows output until cleared") {
    Pki pki;
    KeyPair client_identity = makeLeaf(pki.ca, "good-client", "clientAuth");
    bssl::UniquePtr<SSL_CTX> ctx = pki.context();
    TlsSession server(ctx.get());
    TestClient client(pki.ca.cert.get(), &client_identity);
    REQUIRE(runHandshake(server, client).server == TlsStatus::Done);

    CHECK(server.peekOutput().empty());
    REQUIRE(server.write("pong"));
    std::string sent(server.peekOutput());
    CHECK_FALSE(sent.empty());
    CHECK(server.peekOutput() == sent);
    server.clearOutput();
    CHECK(server.peekOutput().empty());
    CHECK_FALSE(server.hasOutput());

    client.feed(sent);
    char buf[16];
    int read_len = SSL_read(client.ssl(), buf, sizeof(buf));
    REQUIRE(read_len == 4);
    CHECK(std::string(buf, 4) == "pong");
  }

  TEST_CASE("close_notify reads as Closed") {
    Pki pki;
    KeyPair client_identity = makeLeaf(pki.ca, "good-client", "clientAuth");
    bssl::UniquePtr<SSL_CTX> ctx = pki.context();
    TlsSession server(ctx.get());
    TestClient client(pki.ca.cert.get(), &client_identity);
    REQUIRE(runHandshake(server, client).server == TlsStatus::Done);

    SSL_shutdown(client.ssl());
    server.feed(client.takeOutput());
    std::string received;

    CHECK(server.read(&received) == TlsStatus::Closed);
    CHECK(received.empty());
  }

  TEST_CASE("client without certificate is rejected") {
    Pki pki;
    bssl::UniquePtr<SSL_CTX> ctx = pki.context();
    TlsSession server(ctx.get());
    TestClient client(pki.ca.cert.get(), nullptr);

    Outcome outcome = runHandshake(server, client);

    CHECK(outcome.server == TlsStatus::Failed);
    CHECK(server.info().alert_sent == SSL_AD_CERTIFICATE_REQUIRED);
    CHECK(server.info().verify_error == 0);
    CHECK(server.info().rejected == nullptr);
    CHECK(ERR_GET_REASON(server.errorCode()) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE);
    CHECK(classifyFailure(server.info(), server.errorCode()) == HandshakeFailure::NoCertificate);
    CHECK(client.readError() == SSL_R_TLSV1_ALERT_CERTIFICATE_REQUIRED);
  }

  TEST_CASE("client from another CA is rejected") {
    Pki pki;
    KeyPair other_ca = makeCa("Other Root CA");
    KeyPair client_identity = makeLeaf(other_ca, "good-client", "clientAuth");
    bssl::UniquePtr<SSL_CTX> ctx = pki.context();
    TlsSession server(ctx.get());
    TestClient client(pki.ca.cert.get(), &client_identity);

    Outcome outcome = runHandshake(server, client);

    CHECK(outcome.server == TlsStatus::Failed);
    CHECK(server.info().verify_error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    CHECK(server.info().verify_depth == 0);
    REQUIRE(server.info().rejected != nullptr);
    CHECK(X509_cmp(server.info().rejected.get(), client_identity.cert.get()) == 0);
    CHECK(server.info().alert_sent == SSL_AD_UNKNOWN_CA);
    CHECK(classifyFailure(server.info(), server.errorCode()) == HandshakeFailure::UnknownCa);
  }

  TEST_CASE("expired client certificate is rejected") {
    Pki pki;
    CertSpec spec;
    spec.subject = {{"CN", "good-client"}};
    spec.not_before_s = -2 * 86400;
    spec.not_after_s = -86400;
    KeyPair client_identity = makeKeyPair(spec, &pki.ca);
    bssl::UniquePtr<SSL_CTX> ctx = pki.context();
    TlsSession server(ctx.get());
    TestClient client(pki.ca.cert.get(), &client_identity);

    Outcome outcome = runHandshake(server, client);

    CHECK(outcome.server == TlsStatus::Failed);
    CHECK(server.info().verify_error == X509_V_ERR_CERT_HAS_EXPIRED);
    CHECK(server.info().alert_sent == SSL_AD_CERTIFICATE_EXPIRED);
    CHECK(classifyFailure(server.info(), server.errorCode()) == HandshakeFailure::Expired);
  }

  TEST_CASE("server-only certificate is bad purpose") {
    Pki pki;
    KeyPair client_identity = makeLeaf(pki.ca, "good-client", "serverAuth");
    bssl::UniquePtr<SSL_CTX> ctx = pki.context();
    TlsSession server(ctx.get());
    TestClient client(pki.ca.cert.get(), &client_identity);

    Outcome outcome = runHandshake(server, client);

    CHECK(outcome.server == TlsStatus::Failed);
    CHECK(server.info().verify_error == X509_V_ERR_INVALID_PURPOSE);
    CHECK(classifyFailure(server.info(), server.errorCode()) == HandshakeFailure::BadPurpose);
  }

  TEST_CASE("revoked client certificate is rejected") {
    Pki pki;
    KeyPair client_identity = makeLeaf(pki.ca, "good-client", "clientAuth");
    bssl::UniquePtr<X509_CRL> crl = gw::testing::makeCrl(pki.ca, {client_identity.cert.get()});
    pki.config.crl_file = pki.dir.write("clients.crl", gw::testing::crlPem(crl.get()));
    bssl::UniquePtr<SSL_CTX> ctx = pki.context();
    TlsSession server(ctx.get());
    TestClient client(pki.ca.cert.get(), &client_identity);

    Outcome outcome = runHandshake(server, client);

    CHECK(outcome.server == TlsStatus::Failed);
    CHECK(server.info().verify_error == X509_V_ERR_CERT_REVOKED);
    CHECK(server.info().alert_sent == SSL_AD_CERTIFICATE_REVOKED);
    CHECK(classifyFailure(server.info(), server.errorCode()) == HandshakeFailure::Revoked);
  }

  TEST_CASE("unrevoked client passes CRL check") {
    Pki pki;
    KeyPair revoked_identity = makeLeaf(pki.ca, "revoked-client", "clientAuth");
    CertSpec spec;
    spec.subject = {{"CN", "good-client"}};
    spec.serial_hex = "2002";
    spec.extended_key_usage = "clientAuth";
    KeyPair client_identity = makeKeyPair(spec, &pki.ca);
    bssl::UniquePtr<X509_CRL> crl = gw::testing::makeCrl(pki.ca, {revoked_identity.cert.get()});
    pki.config.crl_file = pki.dir.write("clients.crl", gw::testing::crlPem(crl.get()));
    bssl::UniquePtr<SSL_CTX> ctx = pki.context();
    TlsSession server(ctx.get());
    TestClient client(pki.ca.cert.get(), &client_identity);

    Outcome outcome = runHandshake(server, client);

    CHECK(outcome.server == TlsStatus::Done);
    CHECK(server.info().verify_error == 0);
  }

  TEST_CASE("resumed session keeps the identity") {
    Pki pki;
    KeyPair client_identity = makeLeaf(pki.ca, "good-client", "clientAuth");
    bssl::UniquePtr<SSL_CTX> ctx = pki.context();
    bssl::UniquePtr<SSL_SESSION> session = fullHandshakeSession(pki, ctx.get(), client_identity);
    TlsSession server(ctx.get());
    TestClient client(pki.ca.cert.get(), &client_identity);
    client.offerSession(session.get());

    Outcome outcome = runHandshake(server, client);

    CHECK(outcome.server == TlsStatus::Done);
    CHECK(SSL_session_reused(server.ssl()) == 1);
    REQUIRE(server.info().verified != nullptr);
    CHECK(server.info().verified->identity->cn == "good-client");
  }

  TEST_CASE("CA change prevents resumption") {
    Pki pki;
    pki.config.ticket_key_file = pki.dir.write("tickets.key", std::string(96, 'a') + "\n");
    KeyPair client_identity = makeLeaf(pki.ca, "good-client", "clientAuth");
    bssl::UniquePtr<SSL_CTX> before = pki.context();
    bssl::UniquePtr<SSL_SESSION> session = fullHandshakeSession(pki, before.get(), client_identity);
    // The same ticket keys, and one more CA in the client CA file.
    KeyPair partner_ca = makeCa("Partner Root CA");
    pki.config.client_ca_file = pki.dir.write(
        "clients-ca-2.pem", certPem(pki.ca.cert.get()) + certPem(partner_ca.cert.get()));
    bssl::UniquePtr<SSL_CTX> after = pki.context();
    TlsSession server(after.get());
    TestClient client(pki.ca.cert.get(), &client_identity);
    client.offerSession(session.get());

    Outcome outcome = runHandshake(server, client);

    CHECK(outcome.server == TlsStatus::Done);
    CHECK(SSL_session_reused(server.ssl()) == 0);
    REQUIRE(server.info().verified != nullptr);
    CHECK(server.info().verified->identity->cn == "good-client");
  }

  TEST_CASE("a session without a certificate does not resume under require") {
    Pki pki;
    pki.config.ticket_key_file = pki.dir.write("tickets.key", std::string(96, 'a') + "\n");
    pki.config.client_cert = "request";
    bssl::UniquePtr<SSL_CTX> before = pki.context();
    TlsSession first(before.get());
    TestClient first_client(pki.ca.cert.get(), nullptr);
    REQUIRE(runHandshake(first, first_client).server == TlsStatus::Done);
    CHECK(first_client.readError() == 0);  // reads the NewSessionTicket
    REQUIRE(first_client.session() != nullptr);
    bssl::UniquePtr<SSL_SESSION> session = bssl::UpRef(first_client.session());
    // The same ticket keys and trust files, and the mode is now "require".
    pki.config.client_cert = "require";
    bssl::UniquePtr<SSL_CTX> after = pki.context();
    TlsSession server(after.get());
    TestClient client(pki.ca.cert.get(), nullptr);
    client.offerSession(session.get());

    Outcome outcome = runHandshake(server, client);

    CHECK(outcome.server == TlsStatus::Failed);
    CHECK(SSL_session_reused(server.ssl()) == 0);
    CHECK(classifyFailure(server.info(), server.errorCode()) == HandshakeFailure::NoCertificate);
  }

  TEST_CASE("reformatted trust files with the same certificates allow resumption") {
    Pki pki;
    pki.config.ticket_key_file = pki.dir.write("tickets.key", std::string(96, 'a') + "\n");
    KeyPair client_identity = makeLeaf(pki.ca, "good-client", "clientAuth");
    bssl::UniquePtr<SSL_CTX> before = pki.context();
    bssl::UniquePtr<SSL_SESSION> session = fullHandshakeSession(pki, before.get(), client_identity);
    // The trust version hashes the certificates, not the file's bytes.
    pki.config.client_ca_file = pki.dir.write(
        "clients-ca-commented.pem", "# the demo CA\n" + certPem(pki.ca.cert.get()) + "\n");
    bssl::UniquePtr<SSL_CTX> after = pki.context();
    TlsSession server(after.get());
    TestClient client(pki.ca.cert.get(), &client_identity);
    client.offerSession(session.get());

    Outcome outcome = runHandshake(server, client);

    CHECK(outcome.server == TlsStatus::Done);
    CHECK(SSL_session_reused(server.ssl()) == 1);
  }

  TEST_CASE("same trust files allow resumption") {
    Pki pki;
    pki.config.ticket_key_file = pki.dir.write("tickets.key", std::string(96, 'a') + "\n");
    KeyPair client_identity = makeLeaf(pki.ca, "good-client", "clientAuth");
    bssl::UniquePtr<SSL_CTX> before = pki.context();
    bssl::UniquePtr<SSL_SESSION> session = fullHandshakeSession(pki, before.get(), client_identity);
    bssl::UniquePtr<SSL_CTX> reloaded = pki.context();
    TlsSession server(reloaded.get());
    TestClient client(pki.ca.cert.get(), &client_identity);
    client.offerSession(session.get());

    Outcome outcome = runHandshake(server, client);

    CHECK(outcome.server == TlsStatus::Done);
    CHECK(SSL_session_reused(server.ssl()) == 1);
  }

  TEST_CASE("revocation prevents resumption") {
    Pki pki;
    pki.config.ticket_key_file = pki.dir.write("tickets.key", std::string(96, 'a') + "\n");
    KeyPair client_identity = makeLeaf(pki.ca, "good-client", "clientAuth");
    bssl::UniquePtr<SSL_CTX> before = pki.context();
    bssl::UniquePtr<SSL_SESSION> session = fullHandshakeSession(pki, before.get(), client_identity);
    bssl::UniquePtr<X509_CRL> crl = gw::testing::makeCrl(pki.ca, {client_identity.cert.get()});
    pki.config.crl_file = pki.dir.write("clients.crl", gw::testing::crlPem(crl.get()));
    bssl::UniquePtr<SSL_CTX> after = pki.context();
    TlsSession server(after.get());
    TestClient client(pki.ca.cert.get(), &client_identity);
    client.offerSession(session.get());

    Outcome outcome = runHandshake(server, client);

    CHECK(outcome.server == TlsStatus::Failed);
    CHECK(SSL_session_reused(server.ssl()) == 0);
    CHECK(server.info().verify_error == X509_V_ERR_CERT_REVOKED);
    CHECK(server.info().alert_sent == SSL_AD_CERTIFICATE_REVOKED);
  }

  TEST_CASE("expired certificate cannot resume") {
    Pki pki;
    CertSpec spec;
    spec.subject = {{"CN", "good-client"}};
    spec.serial_hex = "3003";
    spec.not_after_s = 2;
    spec.extended_key_usage = "clientAuth";
    KeyPair client_identity = makeKeyPair(spec, &pki.ca);
    bssl::UniquePtr<SSL_CTX> ctx = pki.context();
    bssl::UniquePtr<SSL_SESSION> session = fullHandshakeSession(pki, ctx.get(), client_identity);
    std::this_thread::sleep_for(std::chrono::seconds(3));
    TlsSession server(ctx.get());
    TestClient client(pki.ca.cert.get(), &client_identity);
    client.offerSession(session.get());

    Outcome outcome = runHandshake(server, client);

    CHECK(outcome.server == TlsStatus::Failed);
    CHECK(SSL_session_reused(server.ssl()) == 1);
    CHECK(server.info().verify_error == X509_V_ERR_CERT_HAS_EXPIRED);
    CHECK(server.info().alert_sent == SSL_AD_CERTIFICATE_EXPIRED);
    CHECK(classifyFailure(server.info(), server.errorCode()) == HandshakeFailure::Expired);
    CHECK(client.readError() == SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED);
  }

  TEST_CASE("route trust accepts only its CA") {
    Pki pki;
    KeyPair partner_ca = makeCa("Partner Root CA");
    pki.config.client_ca_file = pki.dir.write(
        "clients-ca-both.pem", certPem(pki.ca.cert.get()) + certPem(partner_ca.cert.get()));
    std::string route_ca = pki.dir.write("route-ca.pem", certPem(partner_ca.cert.get()));
    auto route_trust = gw::tls::loadRouteTrust(route_ca, "");
    REQUIRE_MESSAGE(route_trust.ok(), route_trust.error());
    KeyPair demo_client = makeLeaf(pki.ca, "good-client", "clientAuth");
    KeyPair partner_client = makeLeaf(partner_ca, "partner", "clientAuth");
    bssl::UniquePtr<SSL_CTX> ctx = pki.context();
    TlsSession demo_server(ctx.get());
    TestClient demo(pki.ca.cert.get(), &demo_client);
    TlsSession partner_server(ctx.get());
    TestClient partner(pki.ca.cert.get(), &partner_client);
    REQUIRE(runHandshake(demo_server, demo).server == TlsStatus::Done);
    REQUIRE(runHandshake(partner_server, partner).server == TlsStatus::Done);

    int demo_result = gw::tls::verifyPeerWithTrust(demo_server.ssl(), **route_trust);
    int partner_result = gw::tls::verifyPeerWithTrust(partner_server.ssl(), **route_trust);

    CHECK(demo_result == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    CHECK(partner_result == X509_V_OK);
  }

  TEST_CASE("route CRL revokes on every check") {
    Pki pki;
    KeyPair client_identity = makeLeaf(pki.ca, "good-client", "clientAuth");
    bssl::UniquePtr<X509_CRL> crl = gw::testing::makeCrl(pki.ca, {client_identity.cert.get()});
    std::string route_crl = pki.dir.write("route.crl", gw::testing::crlPem(crl.get()));
    auto route_trust = gw::tls::loadRouteTrust(pki.config.client_ca_file, route_crl);
    REQUIRE_MESSAGE(route_trust.ok(), route_trust.error());
    bssl::UniquePtr<SSL_CTX> ctx = pki.context();
    TlsSession server(ctx.get());
    TestClient client(pki.ca.cert.get(), &client_identity);
    REQUIRE(runHandshake(server, client).server == TlsStatus::Done);

    int first = gw::tls::verifyPeerWithTrust(server.ssl(), **route_trust);
    int second = gw::tls::verifyPeerWithTrust(server.ssl(), **route_trust);

    CHECK(first == X509_V_ERR_CERT_REVOKED);
    CHECK(second == X509_V_ERR_CERT_REVOKED);
  }

  TEST_CASE("TLS 1.2 client is rejected by default") {
    Pki pki;
    KeyPair client_identity = makeLeaf(pki.ca, "good-client", "clientAuth");
    bssl::UniquePtr<SSL_CTX> ctx = pki.context();
    TlsSession server(ctx.get());
    TestClient client(pki.ca.cert.get(), &client_identity, TLS1_2_VERSION);

    Outcome outcome = runHandshake(server, client);

    CHECK(outcome.server == TlsStatus::Failed);
    CHECK(server.info().alert_sent == SSL_AD_PROTOCOL_VERSION);
    CHECK(classifyFailure(server.info(), server.errorCode()) == HandshakeFailure::ProtocolVersion);
  }

  TEST_CASE("TLS 1.2 client allowed with min_version") {
    Pki pki;
    pki.config.min_version = "1.2";
    KeyPair client_identity = makeLeaf(pki.ca, "good-client", "clientAuth");
    bssl::UniquePtr<SSL_CTX> ctx = pki.context();
    TlsSession server(ctx.get());
    TestClient client(pki.ca.cert.get(), &client_identity, TLS1_2_VERSION);

    Outcome outcome = runHandshake(server, client);

    CHECK(outcome.server == TlsStatus::Done);
    CHECK(SSL_version(server.ssl()) == TLS1_2_VERSION);
  }

  TEST_CASE("plain HTTP is classified") {
    Pki pki;
    bssl::UniquePtr<SSL_CTX> ctx = pki.context();
    TlsSession server(ctx.get());

    server.feed("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");

    CHECK(server.handshake() == TlsStatus::Failed);
    CHECK(classifyFailure(server.info(), server.errorCode()) == HandshakeFailure::HttpRequest);
  }

  TEST_CASE("partial ClientHello waits for more") {
    Pki pki;
    bssl::UniquePtr<SSL_CTX> ctx = pki.context();
    TlsSession server(ctx.get());
    TestClient client(pki.ca.cert.get(), nullptr);
    client.handshake();
    std::string hello = client.takeOutput();
    REQUIRE(hello.size() > 10);

    server.feed(std::string_view(hello).substr(0, 10));

    CHECK(server.handshake() == TlsStatus::Ok);
    CHECK(server.errorCode() == 0);
  }
}

TEST_SUITE("tls.createServerContext") {
  TEST_CASE("default minimum version is TLS 1.3") {
    Pki pki;

    bssl::UniquePtr<SSL_CTX> ctx = pki.context();

    CHECK(SSL_CTX_get_min_proto_version(ctx.get()) == TLS1_3_VERSION);
    CHECK(SSL_CTX_get_max_proto_version(ctx.get()) == TLS1_3_VERSION);
  }

  TEST_CASE("chain in cert file is sent") {
    TempDir dir;
    KeyPair root = makeCa("Demo Root CA");
    CertSpec intermediate_spec;
    intermediate_spec.subject = {{"O", "Demo"}, {"CN", "Demo Intermediate CA"}};
    intermediate_spec.is_ca = true;
    KeyPair intermediate = makeKeyPair(intermediate_spec, &root);
    KeyPair server_identity = makeLeaf(intermediate, "localhost", "serverAuth");
    KeyPair client_identity = makeLeaf(root, "good-client", "clientAuth");
    gw::config::TlsConfig config;
    config.cert_file = dir.write(
        "server.pem", certPem(server_identity.cert.get()) + certPem(intermediate.cert.get()));
    config.key_file = dir.write("server.key", keyPem(server_identity.key.get()));
    config.client_ca_file = dir.write("clients-ca.pem", certPem(root.cert.get()));
    auto ctx = createServerContext(config);
    REQUIRE_MESSAGE(ctx.ok(), ctx.error());
    TlsSession server(ctx->get());
    TestClient client(root.cert.get(), &client_identity);

    Outcome outcome = runHandshake(server, client);

    CHECK(outcome.server == TlsStatus::Done);
    CHECK(outcome.client_done);
    CHECK(SSL_get_verify_result(client.ssl()) == X509_V_OK);
  }

  TEST_CASE("chain file is sent") {
    TempDir dir;
    KeyPair root = makeCa("Demo Root CA");
    CertSpec intermediate_spec;
    intermediate_spec.subject = {{"O", "Demo"}, {"CN", "Demo Intermediate CA"}};
    intermediate_spec.is_ca = true;
    KeyPair intermediate = makeKeyPair(intermediate_spec, &root);
    KeyPair server_identity = makeLeaf(intermediate, "localhost", "serverAuth");
    KeyPair client_identity = makeLeaf(root, "good-client", "clientAuth");
    gw::config::TlsConfig config;
    config.cert_file = dir.write("server.pem", certPem(server_identity.cert.get()));
    config.key_file = dir.write("server.key", keyPem(server_identity.key.get()));
    config.chain_file = dir.write("chain.pem", certPem(intermediate.cert.get()));
    config.client_ca_file = dir.write("clients-ca.pem", certPem(root.cert.get()));
    auto ctx = createServerContext(config);
    REQUIRE_MESSAGE(ctx.ok(), ctx.error());
    TlsSession server(ctx->get());
    TestClient client(root.cert.get(), &client_identity);

    Outcome outcome = runHandshake(server, client);

    CHECK(outcome.server == TlsStatus::Done);
    CHECK(outcome.client_done);
  }

  TEST_CASE("key not matching cert names key file") {
    Pki pki;
    KeyPair other = makeLeaf(pki.ca, "other", "serverAuth");
    pki.config.key_file = pki.dir.write("other.key", keyPem(other.key.get()));

    auto result = createServerContext(pki.config);

    REQUIRE_FALSE(result.ok());
    CHECK(result.error().find(pki.config.key_file) != std::string::npos);
    CHECK(result.error().find("does not match") != std::string::npos);
  }

  TEST_CASE("missing CA file is named") {
    Pki pki;
    pki.config.client_ca_file = pki.dir.file("missing-ca.pem");

    auto result = createServerContext(pki.config);

    REQUIRE_FALSE(result.ok());
    CHECK(result.error().find(pki.config.client_ca_file) != std::string::npos);
    CHECK(result.error().find("cannot be read") != std::string::npos);
  }

  TEST_CASE("missing cert file is named") {
    Pki pki;
    pki.config.cert_file = pki.dir.file("missing.pem");

    auto result = createServerContext(pki.config);

    REQUIRE_FALSE(result.ok());
    CHECK(result.error().find(pki.config.cert_file) != std::string::npos);
  }

  TEST_CASE("missing key file is named") {
    Pki pki;
    pki.config.key_file = pki.dir.file("missing.key");

    auto result = createServerContext(pki.config);

    REQUIRE_FALSE(result.ok());
    CHECK(result.error().find(pki.config.key_file) != std::string::npos);
  }

  TEST_CASE("CA file without certificate is rejected") {
    Pki pki;
    pki.config.client_ca_file = pki.dir.write("empty-ca.pem", "not a certificate\n");

    auto result = createServerContext(pki.config);

    REQUIRE_FALSE(result.ok());
    CHECK(result.error() ==
          "client CA file " + pki.config.client_ca_file + " contains no PEM certificate");
  }

  TEST_CASE("CRL file without CRL is rejected") {
    Pki pki;
    pki.config.crl_file = pki.dir.write("empty.crl", "not a CRL\n");

    auto result = createServerContext(pki.config);

    REQUIRE_FALSE(result.ok());
    CHECK(result.error() == "CRL file " + pki.config.crl_file + " contains no PEM CRL");
  }

  TEST_CASE("missing CRL file is named") {
    Pki pki;
    pki.config.crl_file = pki.dir.file("missing.crl");

    auto result = createServerContext(pki.config);

    REQUIRE_FALSE(result.ok());
    CHECK(result.error().find(pki.config.crl_file) != std::string::npos);
  }

  TEST_CASE("key file that is not PEM is rejected") {
    Pki pki;
    pki.config.key_file = pki.dir.write("garbage.key", "not a key\n");

    auto result = createServerContext(pki.config);

    REQUIRE_FALSE(result.ok());
    CHECK(result.error().starts_with("key file " + pki.config.key_file +
                                     " is not a PEM private key"));
  }
}
