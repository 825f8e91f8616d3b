// ClientConnection: one accepted TLS connection, from handshake to close.
//
// Life of a connection:
//   Handshaking  TLS handshake with a required, verified client certificate;
//                a failure is logged with its reason and the alert is sent.
//   Open         HTTP/1.1 exchanges one at a time. For each request head the
//                policy decides: no route gives 404, a denied identity 403,
//                an allowed one is forwarded to the route's upstream with
//                the identity headers, and the response streams back.
//                Pipelined requests wait in the input buffer until the
//                current exchange has finished.
//   Closing      Output is flushed, then the handles are closed.
//
// Memory: the object is deleted in the last close callback of its libuv
// handles, never from inside one of its own callbacks, so every callback can
// use |this| until it returns.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include "gateway/http/parser.h"
#include "gateway/http/rewrite.h"
#include "gateway/policy/policy.h"
#include "gateway/proxy/runtime.h"
#include "gateway/tls/tls_session.h"

namespace gw::proxy {

class Server;
struct UpstreamLink;

class ClientConnection : public http::ParserHandler {
 public:
  ClientConnection(Server* server, std::shared_ptr<const Runtime> runtime, uint64_t id);

  // start accepts the pending connection on |listener| and starts the
  // handshake. On failure the connection closes itself.
  void start(uv_stream_t* listener);

  // drain makes the connection close once its current exchange is done.
  void drain();

  // closeNow closes every handle at once, dropping unsent output.
  void closeNow();

  const std::string& id() const { return id_; }

  // http::ParserHandler, for requests from the client.
  http::HeadAction onHead(http::MessageHead& head) override;
  void onBody(std::string_view data) override;
  void onMessageComplete() override;

  // Called by UpstreamLink.
  void onUpstreamConnected(UpstreamLink* link, int status);
  void onUpstreamData(UpstreamLink* link, std::string_view data);
  void onUpstreamEof(UpstreamLink* link, int status);
  void onUpstreamWriteFailed(UpstreamLink* link, int status);
  void onUpstreamDrained(UpstreamLink* link);

 private:
  enum class State { Handshaking, Open, Closing, Closed };

  // Exchange is the request in progress and how far its response got.
  struct Exchange {
    bool active = false;
    bool logged = false;
    std::string method;
    std::string path;
    int version_minor = 1;
    bool keep_alive = true;
    bool forwarded = false;
    std::string decision;  // allow, deny, no_route, revoked; empty for a bad request
    bool request_chunked = false;
    std::string upstream_name;
    std::string upstream_address;
    std::string upstream_head;       // kept for a retry
    std::vector<std::string> tried;  // addresses tried for this request
    bool reused_link = false;        // sent on a kept-alive upstream connection
    bool retryable = false;          // idempotent and without a body
    bool holding = false;            // the body is held back until complete, see held
    std::string held;                // request body bytes, framed for the upstream, not yet sent
    std::string upgrade_protocol;    // the Upgrade header of an upgrade request
    bool request_complete = false;
    bool response_started = false;
    bool response_complete = false;
    int status = 0;
    http::ResponseFraming framing = http::ResponseFraming::None;
    const policy::Route* route = nullptr;
    std::string rule;
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
    int64_t upstream_ms = -1;
    std::chrono::steady_clock::time_point started;

    // reset starts a new exchange. The buffers that every forwarded request
    // fills keep their capacity, so keep-alive requests do not allocate
    // them again.
    void reset();
  };

  // PlaintextBatch collects what sendPlaintext sends while it exists and
  // encrypts it in one piece when it ends, so that a response head and its
  // body go out as one TLS record and one socket write.
  class PlaintextBatch {
   public:
    explicit PlaintextBatch(ClientConnection* owner);
    ~PlaintextBatch();
    PlaintextBatch(const PlaintextBatch&) = delete;
    PlaintextBatch& operator=(const PlaintextBatch&) = delete;

   private:
    ClientConnection* owner_;
  };

  class ResponseHandler : public http::ParserHandler {
   public:
    explicit ResponseHandler(ClientConnection* owner) : owner_(owner) {}
    http::HeadAction onHead(http::MessageHead& head) override;
    void onBody(std::string_view data) override;
    void onMessageComplete() override;

   private:
    ClientConnection* owner_;
  };

  ~ClientConnection() override;

  static void onAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void onLingerRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  void finishClosing();
  static void onWrite(uv_write_t* req, int status);
  static void onTimer(uv_timer_t* timer);
  static void onUpstreamTimer(uv_timer_t* timer);
  static void onClose(uv_handle_t* handle);

  void handleCiphertext(std::string_view data);
  void doHandshake();
  void onHandshakeDone();
  void logHandshakeRejected(const char* reason);
  void handleClientEof();

  void processInput();
  void maybeFinishExchange();
  void logExchange(const char* outcome = "complete");

  bool adoptCurrentRuntime();
  bool checkRouteTrust(const policy::Route& route);
  bool checkHost(const http::MessageHead& head, std::string* out_host);
  bool checkFraming(const http::MessageHead& head);
  void forward(const http::MessageHead& head, const policy::Route& route);
  bool connectUpstream();
  void sendHeldRequest();
  void addCertificateEncodings();
  bool retryUpstream(const std::string& error);
  bool hasUntriedAddress() const;
  void sendLocalReply(int status, std::string_view body, bool close);
  void failUpstream(int status, std::string_view body, const std::string& error);

  void onResponseHead(http::MessageHead& head, http::HeadAction* out_action);
  void onResponseBody(std::string_view data);
  void onResponseComplete();
  void afterResponse();
  void startTunnel(std::string_view rest);

  void sendPlaintext(std::string_view data);
  void encryptAndWrite(std::string_view data);
  void flushPlaintext();
  void writeRaw(std::string_view data);
  void closeAfterFlush(bool send_close_notify);
  void updateClientReading();
  void detachUpstream();
  void releaseUpstream();
  void armTimer(uint32_t ms);
  void armUpstreamTimer(uint32_t ms);
  void setUpstreamReading(bool on);

  Server* server_;
  std::shared_ptr<const Runtime> runtime_;
  std::string id_;
  std::string peer_;
  std::string peer_ip_;
  State state_ = State::Handshaking;
  uv_tcp_t tcp_;
  uv_timer_t timer_;
  uv_timer_t upstream_timer_;
  int open_handles_ = 0;
  bool reading_ = false;
  bool eof_ = false;
  bool linger_ = false;     // closing with the request body unread: see finishClosing
  bool lingering_ = false;  // reading and discarding after the FIN

  tls::TlsSession tls_;
  std::chrono::steady_clock::time_point accepted_at_;
  policy::Identity identity_;
  int64_t handshake_ms_ = 0;
  std::string server_name_;  // the checked SNI host name, empty without SNI
  // The per-connection header lines of upstream requests
  // (http::buildConnectionHeaders) for the route header names they were
  // built for. A runtime switch clears them, because the names belong to
  // the runtime.
  std::string connection_headers_;
  const config::IdentityHeaderNames* connection_headers_names_ = nullptr;

  http::Parser parser_;
  bool parser_paused_ = false;
  std::string input_;  // decrypted bytes not yet parsed
  Exchange exchange_;
  bool close_after_exchange_ = false;
  bool header_timer_armed_ = false;
  bool tunnel_pending_ = false;  // a 101 was relayed; the tunnel starts after the head
  bool tunneling_ = false;       // raw bytes are relayed both ways

  ResponseHandler response_handler_;
  bool interim_response_ = false;  // the response being parsed is 1xx
  bool interim_complete_ = false;  // a 1xx response just ended
  bool upstream_keep_alive_ = true;
  std::string upstream_protocol_error_;  // set when the response head is rejected
  UpstreamLink* upstream_ = nullptr;     // owned until detached; freed in its close callback
  size_t client_pending_bytes_ = 0;      // written to the client socket, not yet sent
  bool batching_plaintext_ = false;      // a PlaintextBatch is open
  std::string plaintext_batch_;          // plaintext collected by the open PlaintextBatch
  std::string response_head_;            // the client response head, reused between responses
};

}  // namespace gw::proxy
