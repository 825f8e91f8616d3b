#include "gateway/tls/tls_context.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "gateway/tls/peer_identity.h"
#include "gateway/tls/ticket_keys.h"

namespace gw::tls {
namespace {

int g_info_index = -1;

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

Status loadServerIdentity(SSL_CTX* ctx, const config::TlsConfig& config) {
  auto certs = readCertificates(config.cert_file, "certificate");
  if (!certs) {
    return Error{certs.error()};
  }
  if (!SSL_CTX_use_certificate(ctx, (*certs)[0].get())) {
    return Error{"certificate file " + config.cert_file + " cannot be used: " + lastError()};
  }
  auto bio = openFile(config.key_file, "key");
  if (!bio) {
    return Error{bio.error()};
  }
  bssl::UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio->get(), nullptr, nullptr, nullptr));
  if (!key) {
    return Error{"key file " + config.key_file + " is not a PEM private key: " + lastError()};
  }
  if (!SSL_CTX_use_PrivateKey(ctx, key.get()) || !SSL_CTX_check_private_key(ctx)) {
    ERR_clear_error();
    return Error{"key file " + config.key_file + " does not match certificate " + config.cert_file};
  }
  // Certificates after the leaf in the certificate file, then the chain
  // file, are sent as the chain.
  for (size_t i = 1; i < certs->size(); i++) {
    if (!SSL_CTX_add1_chain_cert(ctx, (*certs)[i].get())) {
      return Error{"chain certificate in " + config.cert_file + ": " + lastError()};
    }
  }
  if (!config.chain_file.empty()) {
    auto chain = readCertificates(config.chain_file, "chain");
    if (!chain) {
      return Error{chain.error()};
    }
    for (auto& cert : *chain) {
      if (!SSL_CTX_add1_chain_cert(ctx, cert.get())) {
        return Error{"chain certificate in " + config.chain_file + ": " + lastError()};
      }
    }
  }
  return okStatus();
}

Status loadClientTrust(SSL_CTX* ctx, const config::TlsConfig& config) {
  auto cas = readCertificates(config.client_ca_file, "client CA");
  if (!cas) {
    return Error{cas.error()};
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  bssl::UniquePtr<STACK_OF(X509_NAME)> names(sk_X509_NAME_new_null());
  for (auto& ca : *cas) {
    if (!X509_STORE_add_cert(store, ca.get())) {
      return Error{"client CA file " + config.client_ca_file + ": " + lastError()};
    }
    // The CA names go into the CertificateRequest so that browsers offer
    // only certificates from these CAs.
    bssl::UniquePtr<X509_NAME> name(X509_NAME_dup(X509_get_subject_name(ca.get())));
    if (!name || !bssl::PushToStack(names.get(), std::move(name))) {
      return Error{"out of memory while loading " + config.client_ca_file};
    }
  }
  SSL_CTX_set_client_CA_list(ctx, names.release());  // takes ownership

  if (!config.crl_file.empty()) {
    auto bio = openFile(config.crl_file, "CRL");
    if (!bio) {
      return Error{bio.error()};
    }
    int count = 0;
    while (true) {
      bssl::UniquePtr<X509_CRL> crl(PEM_read_bio_X509_CRL(bio->get(), nullptr, nullptr, nullptr));
      if (!crl) {
        break;
      }
      if (!X509_STORE_add_crl(store, crl.get())) {
        return Error{"CRL file " + config.crl_file + ": " + lastError()};
      }
      count++;
    }
    ERR_clear_error();
    if (count == 0) {
      return Error{"CRL file " + config.crl_file + " contains no PEM CRL"};
    }
    // The CRLs cover client (leaf) certificates; CA certificates are trusted as
    // configured, so a CRL from each intermediate is not required.
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  }
  return okStatus();
}

std::string readFileBytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

// setSessionContext binds resumption to the trust configuration: the
// session ID context is a hash of the client CA and CRL files, and BoringSSL
// refuses to resume a session whose context differs. After a CA or CRL
// change, old sessions and tickets (also tickets under shared keys) get a
// full handshake, so resumption never skips a check the new trust settings
// would make.
Status setSessionContext(SSL_CTX* ctx, const config::TlsConfig& config) {
  std::string trust = readFileBytes(config.client_ca_file);
  trust += '\0';
  if (!config.crl_file.empty()) {
    trust += readFileBytes(config.crl_file);
  }
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(trust.data()), trust.size(), digest);
  if (!SSL_CTX_set_session_id_context(ctx, digest, sizeof(digest))) {
    return Error{"cannot set the session context: " + lastError()};
  }
  return okStatus();
}

ConnectionTlsInfo* infoOf(const SSL* ssl) {
  return static_cast<ConnectionTlsInfo*>(SSL_get_ex_data(ssl, g_info_index));
}

// onVerify records the first verification failure and the client's leaf
// certificate, so the rejection can be logged with the identity presented.
int onVerify(int preverify_ok, X509_STORE_CTX* store_ctx) {
  if (preverify_ok) {
    return 1;
  }
  auto* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  ConnectionTlsInfo* info = ssl != nullptr ? infoOf(ssl) : nullptr;
  if (info != nullptr && info->verify_error == 0) {
    info->verify_error = X509_STORE_CTX_get_error(store_ctx);
    info->verify_depth = X509_STORE_CTX_get_error_depth(store_ctx);
    X509* leaf = X509_STORE_CTX_get0_cert(store_ctx);
    if (leaf != nullptr) {
      X509_up_ref(leaf);
      info->rejected.reset(leaf);
    }
  }
  return 0;
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

int reverifyPeer(SSL* ssl, SSL_CTX* ctx) {
  bssl::UniquePtr<X509> leaf(SSL_get_peer_certificate(ssl));
  if (!leaf) {
    return X509_V_ERR_UNSPECIFIED;
  }
  return verifyChain(leaf.get(), SSL_get_peer_cert_chain(ssl), ctx);
}

int verifyChain(X509* leaf, STACK_OF(X509) * chain, SSL_CTX* ctx) {
  bssl::UniquePtr<X509_STORE_CTX> store_ctx(X509_STORE_CTX_new());
  if (!store_ctx ||
      !X509_STORE_CTX_init(store_ctx.get(), SSL_CTX_get_cert_store(ctx), leaf, chain)) {
    ERR_clear_error();
    return X509_V_ERR_UNSPECIFIED;
  }
  X509_STORE_CTX_set_default(store_ctx.get(), "ssl_client");
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

void attachTlsInfo(SSL* ssl, ConnectionTlsInfo* info) {
  SSL_set_ex_data(ssl, g_info_index, info);
}

Result<bssl::UniquePtr<SSL_CTX>> createServerContext(const config::TlsConfig& config) {
  if (g_info_index < 0) {
    g_info_index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  }
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  if (!ctx) {
    return Error{"cannot create a TLS context: " + lastError()};
  }
  uint16_t min_version = config.min_version == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION;
  SSL_CTX_set_min_proto_version(ctx.get(), min_version);
  SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION);
  if (Status status = loadServerIdentity(ctx.get(), config); !status) {
    return Error{status.error()};
  }
  if (Status status = loadClientTrust(ctx.get(), config); !status) {
    return Error{status.error()};
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, onVerify);
  SSL_CTX_set_info_callback(ctx.get(), onInfo);
  if (Status status = setSessionContext(ctx.get(), config); !status) {
    return Error{status.error()};
  }
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
