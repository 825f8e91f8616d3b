// One server-side TLS connection over memory buffers.
//
// TlsSession never touches a socket: the caller feeds it the ciphertext it
// received and sends whatever takeOutput() returns. That keeps TLS
// independent of libuv and testable with two sessions wired together.
#pragma once

#include <string>
#include <string_view>

#include <openssl/ssl.h>

#include "gateway/tls/tls_context.h"

namespace gw::tls {

enum class TlsStatus {
  Ok,      // progress made; call again when more input arrives
  Done,    // the handshake completed
  Closed,  // the peer sent close_notify
  Failed,  // fatal error; send takeOutput() (it may hold an alert) and close
};

class TlsSession {
 public:
  // TlsSession holds its own reference to |ctx|.
  explicit TlsSession(SSL_CTX* ctx);

  // feed queues ciphertext received from the peer.
  void feed(std::string_view ciphertext);

  // handshake advances the handshake with the input fed so far. A resumed
  // session skipped certificate verification, so its peer chain is checked
  // again (dates and CRLs, through the verified-chain cache) before Done; a
  // chain that fails gives Failed with the alert queued and the error in
  // info().
  TlsStatus handshake();

  // read appends decrypted application data to |out| until the input fed
  // so far is used up.
  TlsStatus read(std::string* out);

  // write encrypts |plaintext|; the records are then in takeOutput(). It
  // returns false after a fatal error.
  bool write(std::string_view plaintext);

  // releaseBuffers replaces the memory buffers with empty ones when both
  // are drained, so an idle connection does not keep the capacity the
  // handshake flights needed (a few KiB each).
  void releaseBuffers();

  // shutdown queues a close_notify alert.
  void shutdown();

  // takeOutput moves out the ciphertext waiting to be sent.
  std::string takeOutput();

  // peekOutput returns the ciphertext waiting to be sent without copying
  // it. The view is valid until the next call on this session; clearOutput
  // drops the bytes once the caller has sent or copied them.
  std::string_view peekOutput() const;
  void clearOutput();
  bool hasOutput() const;

  SSL* ssl() const { return ssl_.get(); }
  ConnectionTlsInfo& info() { return info_; }

  // errorCode is the first BoringSSL error of the last failure (0 if none),
  // captured before the error queue was cleared.
  uint32_t errorCode() const { return error_code_; }

 private:
  TlsStatus failed();
  bool checkResumedPeer();

  bssl::UniquePtr<SSL> ssl_;
  BIO* input_;   // owned by ssl_
  BIO* output_;  // owned by ssl_
  ConnectionTlsInfo info_;
  uint32_t error_code_ = 0;
};

}  // namespace gw::tls
