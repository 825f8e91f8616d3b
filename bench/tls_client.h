// Client side of TLS 1.3 with mutual authentication, over memory BIOs.
//
// TlsClient never touches a socket: the caller feeds it the ciphertext it
// received and sends whatever takeOutput() returns, so one libuv loop can
// drive thousands of them without blocking.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <openssl/ssl.h>

#include "bench/options.h"

namespace bench {

// SSL_CTX shared by every connection of a run, plus the latest session
// ticket the server issued.
class ClientTlsContext {
 public:
  // Builds a TLS 1.3-only context that verifies the server against
  // options.ca_file and presents options.cert_file when set. Returns null
  // and sets *error (naming the file) on failure.
  static std::unique_ptr<ClientTlsContext> create(const Options& options, std::string* error);

  SSL_CTX* get() const { return ctx_.get(); }

  // Returns the newest session received from the server (borrowed, null
  // before the first ticket). BoringSSL ignores tickets that arrive after
  // the client sent close_notify, so only connections that wait for them
  // replace this session.
  SSL_SESSION* latestSession() const { return latest_session_.get(); }
  uint64_t ticketsReceived() const { return tickets_received_; }

 private:
  ClientTlsContext() = default;
  static int onNewSession(SSL* ssl, SSL_SESSION* session);

  bssl::UniquePtr<SSL_CTX> ctx_;
  bssl::UniquePtr<SSL_SESSION> latest_session_;
  uint64_t tickets_received_ = 0;
};

enum class TlsStatus {
  WantMore,    // progress made; call again after feeding more input
  Done,        // the handshake completed
  PeerClosed,  // the server sent close_notify
  Failed,      // fatal error or alert; errorText() says which
};

class TlsClient {
 public:
  // Prepares a client connection. |server_name| is sent as SNI and checked
  // against the server certificate; when empty, |ip_address| is checked
  // instead. A non-null |session| is offered for resumption.
  TlsClient(const ClientTlsContext& context, const std::string& server_name,
            const std::string& ip_address, SSL_SESSION* session);

  // Queues ciphertext received from the server.
  void feed(const char* data, size_t len);

  // Advances the handshake with the input fed so far.
  TlsStatus handshake();

  // Appends decrypted application data to *out until the input is used up.
  // Post-handshake messages such as session tickets are processed here.
  TlsStatus read(std::string* out);

  // Encrypts |plaintext| into the output; returns false after a fatal error.
  bool write(std::string_view plaintext);

  // Queues a close_notify alert, once.
  void sendCloseNotify();

  // Appends the ciphertext waiting to be sent to *out and clears it.
  void takeOutput(std::string* out);

  // Returns whether the handshake resumed a session (SSL_session_reused).
  bool resumed() const { return SSL_session_reused(ssl_.get()) != 0; }

  // Describes the last failure: the BoringSSL reason, for example
  // TLSV1_ALERT_UNKNOWN_CA, plus the X.509 verify result when the server
  // certificate was rejected.
  const std::string& errorText() const { return error_text_; }

 private:
  TlsStatus fail(int ret);

  bssl::UniquePtr<SSL> ssl_;
  BIO* input_;   // owned by ssl_
  BIO* output_;  // owned by ssl_
  bool close_notify_sent_ = false;
  std::string error_text_;
};

}  // namespace bench
