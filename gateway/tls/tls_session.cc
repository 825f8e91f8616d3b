#include "gateway/tls/tls_session.h"

#include <openssl/err.h>

namespace gw::tls {

TlsSession::TlsSession(SSL_CTX* ctx) : ssl_(SSL_new(ctx)) {
  input_ = BIO_new(BIO_s_mem());
  output_ = BIO_new(BIO_s_mem());
  // An empty input buffer means "wait for more", not end of file.
  BIO_set_mem_eof_return(input_, -1);
  SSL_set_bio(ssl_.get(), input_, output_);  // takes ownership of both
  SSL_set_accept_state(ssl_.get());
  // The certificate, key references and other settings copied from the
  // context are freed once the handshake is done; an open connection does
  // not need them, and renegotiation is off for servers.
  SSL_set_shed_handshake_config(ssl_.get(), 1);
  attachTlsInfo(ssl_.get(), &info_);
}

void TlsSession::feed(std::string_view ciphertext) {
  if (!ciphertext.empty()) {
    BIO_write(input_, ciphertext.data(), static_cast<int>(ciphertext.size()));
  }
}

TlsStatus TlsSession::failed() {
  error_code_ = ERR_peek_error();
  ERR_clear_error();
  return TlsStatus::Failed;
}

TlsStatus TlsSession::handshake() {
  int ret = SSL_do_handshake(ssl_.get());
  if (ret == 1) {
    if (SSL_session_reused(ssl_.get()) && !checkResumedPeer()) {
      return TlsStatus::Failed;
    }
    // BoringSSL keeps TLS 1.3 session tickets back until the first write; an
    // empty write sends them now, so a client that only handshakes (or
    // sends before reading) can still resume later.
    SSL_write(ssl_.get(), "", 0);
    ERR_clear_error();
    return TlsStatus::Done;
  }
  int err = SSL_get_error(ssl_.get(), ret);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    return TlsStatus::Ok;
  }
  return failed();
}

bool TlsSession::checkResumedPeer() {
  // BoringSSL does not apply SSL_VERIFY_FAIL_IF_NO_PEER_CERT to a resumed
  // session. The session ID context includes the client certificate mode,
  // so a session without a certificate should not resume under "require".
  // This check also rejects one that resumes anyway, for example with a
  // ticket made elsewhere. The mode is read from the context because the
  // connection sheds its own handshake settings.
  const STACK_OF(CRYPTO_BUFFER)* certs = SSL_get0_peer_certificates(ssl_.get());
  if ((certs == nullptr || sk_CRYPTO_BUFFER_num(certs) == 0) &&
      (SSL_CTX_get_verify_mode(SSL_get_SSL_CTX(ssl_.get())) & SSL_VERIFY_FAIL_IF_NO_PEER_CERT)) {
    SSL_send_fatal_alert(ssl_.get(), SSL_AD_CERTIFICATE_REQUIRED);
    ERR_clear_error();
    error_code_ = ERR_PACK(ERR_LIB_SSL, SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE);
    return false;
  }
  ChainCheck check = verifyPeer(ssl_.get(), SSL_get_SSL_CTX(ssl_.get()));
  if (check.error == X509_V_OK) {
    info_.verified = std::move(check.chain);
    return true;
  }
  recordVerifyFailure(ssl_.get(), check);
  SSL_send_fatal_alert(ssl_.get(), static_cast<uint8_t>(SSL_alert_from_verify_result(check.error)));
  ERR_clear_error();
  error_code_ = 0;
  return false;
}

TlsStatus TlsSession::read(std::string* out) {
  char buf[16384];
  while (true) {
    int ret = SSL_read(ssl_.get(), buf, sizeof(buf));
    if (ret > 0) {
      out->append(buf, static_cast<size_t>(ret));
      // BoringSSL has no read-ahead in TLS, so with no decrypted bytes left
      // and no unread input another SSL_read could only return
      // SSL_ERROR_WANT_READ. Skipping it saves a call per request.
      if (SSL_pending(ssl_.get()) == 0 && BIO_pending(input_) == 0) {
        return TlsStatus::Ok;
      }
      continue;
    }
    int err = SSL_get_error(ssl_.get(), ret);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      return TlsStatus::Ok;
    }
    if (err == SSL_ERROR_ZERO_RETURN) {
      return TlsStatus::Closed;
    }
    return failed();
  }
}

bool TlsSession::write(std::string_view plaintext) {
  while (!plaintext.empty()) {
    // The output is a memory BIO, so SSL_write consumes everything unless
    // the connection failed.
    int ret = SSL_write(ssl_.get(), plaintext.data(), static_cast<int>(plaintext.size()));
    if (ret <= 0) {
      failed();
      return false;
    }
    plaintext.remove_prefix(static_cast<size_t>(ret));
  }
  return true;
}

void TlsSession::releaseBuffers() {
  if (BIO_pending(input_) != 0 || BIO_pending(output_) != 0) {
    return;
  }
  BIO* input = BIO_new(BIO_s_mem());
  BIO* output = BIO_new(BIO_s_mem());
  if (input == nullptr || output == nullptr) {
    BIO_free(input);
    BIO_free(output);
    return;
  }
  BIO_set_mem_eof_return(input, -1);
  SSL_set_bio(ssl_.get(), input, output);  // frees the old BIOs, takes the new ones
  input_ = input;
  output_ = output;
}

void TlsSession::shutdown() {
  SSL_shutdown(ssl_.get());
  ERR_clear_error();
}

bool TlsSession::hasOutput() const {
  return BIO_pending(output_) > 0;
}

std::string_view TlsSession::peekOutput() const {
  const uint8_t* contents = nullptr;
  size_t len = 0;
  if (!BIO_mem_contents(output_, &contents, &len)) {
    return {};
  }
  return std::string_view(reinterpret_cast<const char*>(contents), len);
}

void TlsSession::clearOutput() {
  if (BIO_pending(output_) > 0) {
    BIO_reset(output_);
  }
}

std::string TlsSession::takeOutput() {
  const uint8_t* contents = nullptr;
  size_t len = 0;
  std::string out;
  if (BIO_mem_contents(output_, &contents, &len) && len > 0) {
    out.assign(reinterpret_cast<const char*>(contents), len);
    BIO_reset(output_);
  }
  return out;
}

}  // namespace gw::tls
