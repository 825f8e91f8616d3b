#include "bench/tls_client.h"

#include <openssl/err.h>
#include <openssl/x509.h>

namespace bench {
namespace {

// Index of the ClientTlsContext pointer in SSL_CTX ex_data.
int contextIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

std::string lastErrorText(const char* action, const std::string& file) {
  uint32_t code = ERR_get_error();
  ERR_clear_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  return std::string(action) + " '" + file + "' failed: " + (reason ? reason : "unknown error");
}

bool loadClientCertificate(SSL_CTX* ctx, const Options& options, std::string* error) {
  if (options.cert_file.empty()) {
    return true;
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) {
    *error = lastErrorText("loading client certificate", options.cert_file);
    return false;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    *error = lastErrorText("loading client key", options.key_file);
    return false;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    *error = lastErrorText("matching client key", options.key_file);
    return false;
  }
  return true;
}

}  // namespace

std::unique_ptr<ClientTlsContext> ClientTlsContext::create(const Options& options,
                                                           std::string* error) {
  std::unique_ptr<ClientTlsContext> context(new ClientTlsContext());
  context->ctx_.reset(SSL_CTX_new(TLS_method()));
  SSL_CTX* ctx = context->ctx_.get();
  if (ctx == nullptr) {
    *error = "SSL_CTX_new failed";
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
    *error = lastErrorText("loading CA file", options.ca_file);
    return nullptr;
  }
  if (!loadClientCertificate(ctx, options, error)) {
    return nullptr;
  }

  // BoringSSL never keeps client sessions in its internal cache, so the
  // callback is the only way to receive each new ticket.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
  SSL_CTX_sess_set_new_cb(ctx, &ClientTlsContext::onNewSession);
  SSL_CTX_set_ex_data(ctx, contextIndex(), context.get());
  return context;
}

int ClientTlsContext::onNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* context =
      static_cast<ClientTlsContext*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), contextIndex()));
  context->latest_session_.reset(session);
  ++context->tickets_received_;
  return 1;  // keeps the reference BoringSSL passed in
}

TlsClient::TlsClient(const ClientTlsContext& context, const std::string& server_name,
                     const std::string& ip_address, SSL_SESSION* session)
    : ssl_(SSL_new(context.get())) {
  input_ = BIO_new(BIO_s_mem());
  output_ = BIO_new(BIO_s_mem());
  // An empty input buffer means "wait for more", not end of file.
  BIO_set_mem_eof_return(input_, -1);
  SSL_set_bio(ssl_.get(), input_, output_);  // takes ownership of both
  SSL_set_connect_state(ssl_.get());

  X509_VERIFY_PARAM* param = SSL_get0_param(ssl_.get());
  if (!server_name.empty()) {
    SSL_set_tlsext_host_name(ssl_.get(), server_name.c_str());
    X509_VERIFY_PARAM_set1_host(param, server_name.data(), server_name.size());
  } else {
    X509_VERIFY_PARAM_set1_ip_asc(param, ip_address.c_str());
  }
  if (session != nullptr) {
    SSL_set_session(ssl_.get(), session);  // takes its own reference
  }
}

void TlsClient::feed(const char* data, size_t len) {
  if (len > 0) {
    BIO_write(input_, data, static_cast<int>(len));
  }
}

TlsStatus TlsClient::fail(int ret) {
  int err = SSL_get_error(ssl_.get(), ret);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    return TlsStatus::WantMore;
  }
  if (err == SSL_ERROR_ZERO_RETURN) {
    return TlsStatus::PeerClosed;
  }
  uint32_t code = ERR_peek_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  error_text_ = reason != nullptr ? reason : "SSL error " + std::to_string(err);
  bool verify_failed =
      ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_CERTIFICATE_VERIFY_FAILED;
  long verify = SSL_get_verify_result(ssl_.get());
  if (verify_failed && verify != X509_V_OK) {
    error_text_ += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
  }
  ERR_clear_error();
  return TlsStatus::Failed;
}

TlsStatus TlsClient::handshake() {
  int ret = SSL_do_handshake(ssl_.get());
  return ret == 1 ? TlsStatus::Done : fail(ret);
}

TlsStatus TlsClient::read(std::string* out) {
  char buf[16384];
  while (true) {
    int ret = SSL_read(ssl_.get(), buf, sizeof(buf));
    if (ret <= 0) {
      return fail(ret);
    }
    out->append(buf, static_cast<size_t>(ret));
  }
}

bool TlsClient::write(std::string_view plaintext) {
  while (!plaintext.empty()) {
    // The output is a memory BIO, so SSL_write consumes everything unless
    // the connection failed.
    int ret = SSL_write(ssl_.get(), plaintext.data(), static_cast<int>(plaintext.size()));
    if (ret <= 0) {
      fail(ret);
      return false;
    }
    plaintext.remove_prefix(static_cast<size_t>(ret));
  }
  return true;
}

void TlsClient::sendCloseNotify() {
  if (!close_notify_sent_) {
    close_notify_sent_ = true;
    SSL_shutdown(ssl_.get());
    ERR_clear_error();
  }
}

void TlsClient::takeOutput(std::string* out) {
  const uint8_t* contents = nullptr;
  size_t len = 0;
  if (BIO_mem_contents(output_, &contents, &len) && len > 0) {
    out->append(reinterpret_cast<const char*>(contents), len);
    BIO_reset(output_);
  }
}

}  // namespace bench
