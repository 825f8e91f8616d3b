// One client connection of the load generator: TCP connect, TLS handshake
// and, depending on the mode, HTTP requests, all driven by one libuv loop.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <sys/socket.h>

#include <uv.h>

#include "bench/http_client.h"
#include "bench/options.h"
#include "bench/stats.h"
#include "bench/tls_client.h"

namespace bench {

// Result of one operation: a handshake, or one request and its response.
struct Outcome {
  bool ok = false;
  FailureKind kind = FailureKind::Io;  // meaningful when !ok
  std::string detail;                  // failure description, empty when ok
  uint64_t latency_ns = 0;             // from the start of the operation, when ok
  bool resumed = false;                // whether the TLS session was resumed
};

class Connection;

// Receives the events of every connection. The runner implements it, and
// none of these may throw, because they run inside libuv callbacks.
class ConnectionListener {
 public:
  // Reports an operation that finished, successfully or not. A failed
  // connection is closed right after this returns. In idle mode the
  // operation is the handshake, and a failure of an established()
  // connection means the server closed it while it was held.
  virtual void onOutcome(Connection& connection, const Outcome& outcome) = 0;

  // Keepalive mode: claims the next request for |connection|. Returning
  // false closes the connection instead.
  virtual bool claimRequest() = 0;

  // Reports that both libuv handles are closed. The connection is deleted
  // right after this returns.
  virtual void onClosed(Connection& connection) = 0;

 protected:
  ~ConnectionListener() = default;
};

// Settings shared by every connection of a run.
struct ConnectionConfig {
  Mode mode = Mode::Handshake;
  const ClientTlsContext* tls = nullptr;  // borrowed, outlives every connection
  std::string server_name;                // SNI, empty for an IP address target
  std::string ip_address;                 // checked when server_name is empty
  sockaddr_storage address{};
  std::string request;  // request and keepalive modes: the bytes of one request
  int expect_status = 200;
  uint64_t timeout_ms = 10000;
};

class Connection {
 public:
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Creates a connection and starts connecting. A non-null |session| is
  // offered for resumption. The connection owns itself: it is deleted after
  // it has closed and listener.onClosed() has returned, so the pointer is
  // valid until then.
  static Connection* start(uv_loop_t* loop, const ConnectionConfig& config,
                           ConnectionListener& listener, SSL_SESSION* session);

  // Closes the connection without reporting an outcome; does nothing when
  // it is already closing.
  void close();

  bool established() const { return established_; }

 private:
  enum class State {
    Connecting,
    Handshaking,
    Confirming,
    AwaitingResponse,
    Idle,
    Closing,
  };

  Connection(const ConnectionConfig& config, ConnectionListener& listener);
  const char* stateName() const;

  static void onConnect(uv_connect_t* request, int status);
  static void onAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void onWrite(uv_write_t* request, int status);
  static void onTimeout(uv_timer_t* timer);
  static void onHandleClosed(uv_handle_t* handle);

  void connect();
  void process();
  void onHandshakeDone();
  void readApplicationData();
  bool onPlaintext(const std::string& plaintext);
  void onPeerClosed();
  void onTlsFailed();
  void completeResponse();
  void sendNextRequest();
  bool flush();
  void succeed(uint64_t latency_ns);
  void fail(FailureKind kind, const std::string& detail);

  const ConnectionConfig& config_;
  ConnectionListener& listener_;
  uv_tcp_t tcp_;
  uv_timer_t timer_;
  uv_connect_t connect_request_;
  int open_handles_ = 0;
  State state_ = State::Connecting;
  bool established_ = false;
  bool peer_closed_ = false;
  uint64_t responses_ = 0;
  uint64_t operation_start_ns_ = 0;
  uint64_t handshake_done_ns_ = 0;
  std::unique_ptr<TlsClient> tls_;
  ResponseParser parser_;
};

}  // namespace bench
