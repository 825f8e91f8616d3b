#include "gateway/tls/tls_context.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/pem.h>
#include <openssl/pool.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "gateway/tls/peer_identity.h"
#include "gateway/tls/ticket_keys.h"

namespace gw::tls {
namespace {

// At most kMaxChainDepth intermediates between the client certificate and a
// trusted CA; longer chains fail with chain_too_long.
constexpr int kMaxChainDepth = 4;

std::string lastError() {
  uint32_t code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) {
    return "unknown error";
  }
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

Result<bssl::UniquePtr<BIO>> openFile(const std::string& path, const char* what) {
  bssl::UniquePtr<BIO> bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    return Error{std::string(what) + " file " + path + " cannot be read: " + strerror(errno)};
  }
  return bio;
}

// readCertificates reads every PEM certificate in |path|.
Result<std::vector<bssl::UniquePtr<X509>>> readCertificates(const std::string& path,
                                                            const char* what) {
  auto bio = openFile(path, what);
  if (!bio) {
    return Error{bio.error()};
  }
  std::vector<bssl::UniquePtr<X509>> certs;
  while (true) {
    bssl::UniquePtr<X509> cert(PEM_read_bio_X509(bio->get(), nullptr, nullptr, nullptr));
    if (!cert) {
      break;
    }
    certs.push_back(std::move(cert));
  }
  uint32_t err = ERR_peek_last_error();
  if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) {
    ERR_clear_error();
  } else if (err != 0) {
    return Error{std::string(what) + " file " + path + " is not valid PEM: " + lastError()};
  }
  if (certs.empty()) {
    return Error{std::string(what) + " file " + path + " contains no PEM certificate"};
  }
  return certs;
}

// toBuffer copies the DER encoding of |cert| into a pooled CRYPTO_BUFFER.
bssl::UniquePtr<CRYPTO_BUFFER> toBuffer(X509* cert) {
  uint8_t* der = nullptr;
  int len = i2d_X509(cert, &der);
  if (len <= 0) {
    return nullptr;
  }
  bssl::UniquePtr<CRYPTO_BUFFER> buffer(
      CRYPTO_BUFFER_new(der, static_cast<size_t>(len), processBufferPool()));
  OPENSSL_free(der);
  return buffer;
}

// loadServerIdentity installs the certificate chain and key. The context
// uses TLS_with_buffers_method, so the chain is given as DER buffers.
Status loadServerIdentity(SSL_CTX* ctx, const config::TlsConfig& config) {
  auto certs = readCertificates(config.cert_file, "certificate");
  if (!certs) {
    return Error{certs.error()};
  }
  auto bio = openFile(config.key_file, "key");
  if (!bio) {
    return Error{bio.error()};
  }
  bssl::UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio->get(), nullptr, nullptr, nullptr));
  if (!key) {
    return Error{"key file " + config.key_file + " is not a PEM private key: " + lastError()};
  }
  if (!X509_check_private_key((*certs)[0].get(), key.get())) {
    ERR_clear_error();
    return Error{"key file " + config.key_file + " does not match certificate " + config.cert_file};
  }
  // Certificates after the leaf in the certificate file, then the chain
  // file, are sent as the chain.
  if (!config.chain_file.empty()) {
    auto chain = readCertificates(config.chain_file, "chain");
    if (!chain) {
      return Error{chain.error()};
    }
    for (auto& cert : *chain) {
      certs->push_back(std::move(cert));
    }
  }
  std::vector<bssl::UniquePtr<CRYPTO_BUFFER>> buffers;
  std::vector<CRYPTO_BUFFER*> pointers;
  for (auto& cert : *certs) {
    buffers.push_back(toBuffer(cert.get()));
    if (!buffers.back()) {
      return Error{"certificate in " + config.cert_file + " cannot be encoded: " + lastError()};
    }
    pointers.push_back(buffers.back().get());
  }
  if (!SSL_CTX_set_chain_and_key(ctx, pointers.data(), pointers.size(), key.get(), nullptr)) {
    return Error{"certificate file " + config.cert_file + " cannot be used: " + lastError()};
  }
  return okStatus();
}

// readCrls reads every PEM CRL in |path|. |what| names the file in errors.
Result<std::vector<bssl::UniquePtr<X509_CRL>>> readCrls(const std::string& path, const char* what) {
  auto bio = openFile(path, what);
  if (!bio) {
    return Error{bio.error()};
  }
  std::vector<bssl::UniquePtr<X509_CRL>> crls;
  while (
      bssl::UniquePtr<X509_CRL> crl{PEM_read_bio_X509_CRL(bio->get(), nullptr, nullptr, nullptr)}) {
    crls.push_back(std::move(crl));
  }
  ERR_clear_error();
  if (crls.empty()) {
    return Error{std::string(what) + " file " + path + " contains no PEM CRL"};
  }
  return crls;
}

// trustVersionOf hashes the DER of the client CA certificates and CRLs
// that were loaded into a trust store: exactly what verification uses, not
// a second read of files that a deploy may be rewriting. The digest is the
// trust version in every verified-chain cache key. The server's session ID
// context is derived from it, and BoringSSL refuses to resume a session
// whose context differs, so after a CA or CRL change old sessions and
// tickets (also tickets under shared keys) get a full handshake.
Sha256Digest trustVersionOf(const std::vector<bssl::UniquePtr<X509>>& cas,
                            const std::vector<bssl::UniquePtr<X509_CRL>>& crls) {
  SHA256_CTX sha;
  SHA256_Init(&sha);
  auto add = [&sha](uint8_t* der, int len) {
    uint64_t length = len > 0 ? static_cast<uint64_t>(len) : 0;
    SHA256_Update(&sha, &length, sizeof(length));  // length-prefixed: no ambiguity
    if (len > 0) {
      SHA256_Update(&sha, der, static_cast<size_t>(len));
    }
    OPENSSL_free(der);
  };
  for (const auto& ca : cas) {
    uint8_t* der = nullptr;
    int len = i2d_X509(ca.get(), &der);
    add(der, len);
  }
  SHA256_Update(&sha, "crls", 4);
  for (const auto& crl : crls) {
    uint8_t* der = nullptr;
    int len = i2d_X509_CRL(crl.get(), &der);
    add(der, len);
  }
  Sha256Digest digest;
  SHA256_Final(digest.data(), &sha);
  return digest;
}

// loadClientTrust builds the client certificate trust of |config| and sets
// the CA names the CertificateRequest lists.
Result<std::unique_ptr<ClientTrust>> loadClientTrust(SSL_CTX* ctx,
                                                     const config::TlsConfig& config) {
  auto cas = readCertificates(config.client_ca_file, "client CA");
  if (!cas) {
    return Error{cas.error()};
  }
  auto trust = std::make_unique<ClientTrust>();
  trust->store.reset(X509_STORE_new());
  trust->cache = &processChainCache();
  bssl::UniquePtr<STACK_OF(CRYPTO_BUFFER)> names(sk_CRYPTO_BUFFER_new_null());
  if (!trust->store || !names) {
    return Error{"out of memory while loading " + config.client_ca_file};
  }
  for (auto& ca : *cas) {
    if (!X509_STORE_add_cert(trust->store.get(), ca.get())) {
      return Error{"client CA file " + config.client_ca_file + ": " + lastError()};
    }
    // The CA names go into the CertificateRequest so that browsers offer
    // only certificates from these CAs.
    uint8_t* der = nullptr;
    int len = i2d_X509_NAME(X509_get_subject_name(ca.get()), &der);
    bssl::UniquePtr<CRYPTO_BUFFER> name(
        len > 0 ? CRYPTO_BUFFER_new(der, static_cast<size_t>(len), processBufferPool()) : nullptr);
    OPENSSL_free(der);
    if (!name || !bssl::PushToStack(names.get(), std::move(name))) {
      return Error{"out of memory while loading " + config.client_ca_file};
    }
  }
  SSL_CTX_set0_client_CAs(ctx, names.release());  // takes ownership

  if (!config.crl_file.empty()) {
    auto crls = readCrls(config.crl_file, "CRL");
    if (!crls) {
      return Error{crls.error()};
    }
    for (auto& crl : *crls) {
      if (!X509_STORE_add_crl(trust->store.get(), crl.get())) {
        return Error{"CRL file " + config.crl_file + ": " + lastError()};
      }
    }
    trust->crls = std::move(*crls);
    // The CRLs cover client (leaf) certificates; CA certificates are trusted as
    // configured, so a CRL from each intermediate is not required.
    X509_STORE_set_flags(trust->store.get(), X509_V_FLAG_CRL_CHECK);
    trust->check_crl = true;
  }
  trust->version = trustVersionOf(*cas, trust->crls);
  return trust;
}

int infoIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

void freeTrust(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<ClientTrust*>(ptr);
}

int trustIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, freeTrust);
  return index;
}

const ClientTrust* trustOf(const SSL_CTX* ctx) {
  return static_cast<const ClientTrust*>(SSL_CTX_get_ex_data(ctx, trustIndex()));
}

ConnectionTlsInfo* infoOf(const SSL* ssl) {
  return static_cast<ConnectionTlsInfo*>(SSL_get_ex_data(ssl, infoIndex()));
}

int64_t currentTime() {
  return static_cast<int64_t>(time(nullptr));
}

// onVerifyPeer verifies the client's chain during the handshake. It records
// the first failure and the client's leaf certificate, so the rejection can
// be logged with the identity presented, and picks the alert BoringSSL's
// own X509 verification would send for the same error.
ssl_verify_result_t onVerifyPeer(SSL* ssl, uint8_t* out_alert) {
  ConnectionTlsInfo* info = infoOf(ssl);
  ChainCheck check = verifyPeer(ssl, SSL_get_SSL_CTX(ssl));
  if (check.error == X509_V_OK && check.chain) {
    if (info != nullptr) {
      info->verified = std::move(check.chain);
    }
    return ssl_verify_ok;
  }
  if (check.error == X509_V_OK) {
    check.error = X509_V_ERR_UNSPECIFIED;
  }
  recordVerifyFailure(ssl, check);
  *out_alert = static_cast<uint8_t>(SSL_alert_from_verify_result(check.error));
  return ssl_verify_invalid;
}

void onInfo(const SSL* ssl, int where, int value) {
  if ((where & SSL_CB_WRITE_ALERT) != SSL_CB_WRITE_ALERT) {
    return;
  }
  ConnectionTlsInfo* info = infoOf(ssl);
  if (info != nullptr && info->alert_sent < 0) {
    info->alert_sent = value & 0xff;
  }
}

}  // namespace

void recordVerifyFailure(const SSL* ssl, const ChainCheck& check) {
  ConnectionTlsInfo* info = infoOf(ssl);
  if (info == nullptr || info->verify_error != 0) {
    return;
  }
  info->verify_error = check.error;
  info->verify_depth = check.depth;
  const STACK_OF(CRYPTO_BUFFER)* certs = SSL_get0_peer_certificates(ssl);
  if (certs != nullptr && sk_CRYPTO_BUFFER_num(certs) > 0) {
    info->rejected.reset(X509_parse_from_buffer(sk_CRYPTO_BUFFER_value(certs, 0)));
    ERR_clear_error();
  }
}

ChainCheck verifyPeer(const SSL* ssl, SSL_CTX* ctx) {
  const STACK_OF(CRYPTO_BUFFER)* certs = SSL_get0_peer_certificates(ssl);
  if (certs == nullptr || sk_CRYPTO_BUFFER_num(certs) == 0) {
    return ChainCheck{};
  }
  const ClientTrust* trust = trustOf(ctx);
  if (trust == nullptr) {
    ChainCheck check;
    check.error = X509_V_ERR_UNSPECIFIED;
    return check;
  }
  return verifyCertificates(certs, *trust, currentTime());
}

int verifyPeerWithTrust(const SSL* ssl, const ClientTrust& trust) {
  // verifyCertificates rejects a peer without a certificate.
  return verifyCertificates(SSL_get0_peer_certificates(ssl), trust, currentTime()).error;
}

int verifyChain(X509* leaf, STACK_OF(X509) * chain, SSL_CTX* ctx) {
  const ClientTrust* trust = trustOf(ctx);
  if (trust == nullptr) {
    return X509_V_ERR_UNSPECIFIED;
  }
  return verifyChainInStore(leaf, chain, trust->store.get());
}

int verifyChainInStore(X509* leaf, STACK_OF(X509) * chain, X509_STORE* store) {
  bssl::UniquePtr<X509_STORE_CTX> store_ctx(X509_STORE_CTX_new());
  if (!store_ctx || !X509_STORE_CTX_init(store_ctx.get(), store, leaf, chain)) {
    ERR_clear_error();
    return X509_V_ERR_UNSPECIFIED;
  }
  X509_STORE_CTX_set_default(store_ctx.get(), "ssl_client");
  X509_VERIFY_PARAM_set_depth(X509_STORE_CTX_get0_param(store_ctx.get()), kMaxChainDepth);
  int ok = X509_verify_cert(store_ctx.get());
  ERR_clear_error();
  return ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(store_ctx.get());
}

std::vector<CertificateExpiry> certificateExpiries(const config::TlsConfig& config) {
  std::vector<CertificateExpiry> out;
  auto add = [&out](const std::string& file, const char* role, bool first_only) {
    auto certs = readCertificates(file, role);
    if (!certs) {
      return;
    }
    for (auto& cert : *certs) {
      policy::Identity identity = identityOf(cert.get());
      out.push_back({role, identity.subject, identity.not_after});
      if (first_only) {
        break;
      }
    }
  };
  add(config.cert_file, "server", true);
  add(config.client_ca_file, "client_ca", false);
  return out;
}

Result<std::unique_ptr<const ClientTrust>> loadRouteTrust(const std::string& ca_file,
                                                          const std::string& crl_file) {
  auto cas = readCertificates(ca_file, "route client CA");
  if (!cas) {
    return Error{cas.error()};
  }
  auto trust = std::make_unique<ClientTrust>();
  trust->store.reset(X509_STORE_new());
  if (!trust->store) {
    return Error{"out of memory while loading " + ca_file};
  }
  for (auto& ca : *cas) {
    if (!X509_STORE_add_cert(trust->store.get(), ca.get())) {
      return Error{"route client CA file " + ca_file + ": " + lastError()};
    }
  }
  if (!crl_file.empty()) {
    auto crls = readCrls(crl_file, "route CRL");
    if (!crls) {
      return Error{crls.error()};
    }
    for (auto& crl : *crls) {
      X509_STORE_add_crl(trust->store.get(), crl.get());
    }
    ERR_clear_error();
    trust->crls = std::move(*crls);
    X509_STORE_set_flags(trust->store.get(), X509_V_FLAG_CRL_CHECK);
    trust->check_crl = true;
  }
  // Files with the same bytes as another trust get the same version, and
  // the same verification result, so such entries may be shared.
  trust->version = trustVersionOf(*cas, trust->crls);
  trust->max_depth = kMaxChainDepth;
  trust->cache = &processChainCache();
  return std::unique_ptr<const ClientTrust>(std::move(trust));
}

void attachTlsInfo(SSL* ssl, ConnectionTlsInfo* info) {
  SSL_set_ex_data(ssl, infoIndex(), info);
}

Result<bssl::UniquePtr<SSL_CTX>> createServerContext(const config::TlsConfig& config) {
  // The buffers method keeps certificates as DER in pooled CRYPTO_BUFFERs
  // and makes no X509 objects per connection, which saves memory on every
  // open connection. onVerifyPeer verifies the client chain.
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_with_buffers_method()));
  if (!ctx) {
    return Error{"cannot create a TLS context: " + lastError()};
  }
  SSL_CTX_set0_buffer_pool(ctx.get(), processBufferPool());
  uint16_t min_version = config.min_version == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION;
  SSL_CTX_set_min_proto_version(ctx.get(), min_version);
  SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION);
  if (Status status = loadServerIdentity(ctx.get(), config); !status) {
    return Error{status.error()};
  }
  auto trust = loadClientTrust(ctx.get(), config);
  if (!trust) {
    return Error{trust.error()};
  }
  (*trust)->max_depth = kMaxChainDepth;
  // The session ID context adds the client certificate mode to the trust
  // version, so a session made without a certificate under "request" does
  // not resume once the mode is "require".
  Sha256Digest session_context;
  SHA256_CTX sha;
  SHA256_Init(&sha);
  SHA256_Update(&sha, (*trust)->version.data(), (*trust)->version.size());
  SHA256_Update(&sha, config.client_cert.data(), config.client_cert.size());
  SHA256_Final(session_context.data(), &sha);
  if (!SSL_CTX_set_session_id_context(ctx.get(), session_context.data(), session_context.size())) {
    return Error{"cannot set the session context: " + lastError()};
  }
  SSL_CTX_set_ex_data(ctx.get(), trustIndex(), trust->release());  // freed by freeTrust
  int verify_mode = SSL_VERIFY_PEER;
  if (config.client_cert != "request") {
    verify_mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  SSL_CTX_set_custom_verify(ctx.get(), verify_mode, onVerifyPeer);
  SSL_CTX_set_info_callback(ctx.get(), onInfo);
  if (!config.ticket_key_file.empty()) {
    if (Status status = installTicketKeys(ctx.get(), config.ticket_key_file); !status) {
      return Error{status.error()};
    }
  }
  // Renegotiation is off by default in BoringSSL servers; HTTP/1.1 only.
  static const uint8_t kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_select_cb(
      ctx.get(),
      [](SSL*, const uint8_t** out, uint8_t* out_len, const uint8_t* in, unsigned in_len,
         void*) -> int {
        uint8_t* selected = nullptr;
        if (SSL_select_next_proto(&selected, out_len, in, in_len, kAlpn, sizeof(kAlpn)) ==
            OPENSSL_NPN_NEGOTIATED) {
          *out = selected;
          return SSL_TLSEXT_ERR_OK;
        }
        return SSL_TLSEXT_ERR_NOACK;
      },
      nullptr);
  return ctx;
}

}  // namespace gw::tls
