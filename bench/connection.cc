#include "bench/connection.h"

#include <algorithm>
#include <array>

namespace bench {
namespace {

// A write request owns the bytes it sends, and onWrite frees both.
struct WriteRequest {
  uv_write_t request;
  std::string data;
};

// Returns the first line of |data|, at most 60 bytes, with bytes outside
// printable ASCII replaced by '?', for failure details.
std::string firstLine(const std::string& data) {
  std::string line = data.substr(0, std::min<size_t>(data.find_first_of("\r\n"), 60));
  for (char& c : line) {
    if (c < 0x20 || c > 0x7e) {
      c = '?';
    }
  }
  return line;
}

std::string uvError(const char* action, int status) {
  return std::string(action) + ": " + uv_strerror(status);
}

}  // namespace

Connection::Connection(const ConnectionConfig& config, ConnectionListener& listener)
    : config_(config), listener_(listener) {}

Connection* Connection::start(uv_loop_t* loop, const ConnectionConfig& config,
                              ConnectionListener& listener, SSL_SESSION* session) {
  auto* connection = new Connection(config, listener);
  connection->tls_ =
      std::make_unique<TlsClient>(*config.tls, config.server_name, config.ip_address, session);
  uv_tcp_init(loop, &connection->tcp_);
  uv_timer_init(loop, &connection->timer_);
  connection->tcp_.data = connection;
  connection->timer_.data = connection;
  connection->open_handles_ = 2;
  connection->connect();
  return connection;
}

void Connection::connect() {
  operation_start_ns_ = uv_hrtime();
  uv_timer_start(&timer_, &Connection::onTimeout, config_.timeout_ms, 0);
  int status =
      uv_tcp_connect(&connect_request_, &tcp_, reinterpret_cast<const sockaddr*>(&config_.address),
                     &Connection::onConnect);
  if (status < 0) {
    fail(FailureKind::Connect, uvError("connect failed", status));
  }
}

const char* Connection::stateName() const {
  switch (state_) {
    case State::Connecting:
      return "connecting";
    case State::Handshaking:
      return "handshaking";
    case State::Confirming:
      return "waiting for the server to close";
    case State::AwaitingResponse:
      return "waiting for the response";
    case State::Idle:
      return "idle";
    case State::Closing:
      return "closing";
  }
  return "unknown";
}

void Connection::onConnect(uv_connect_t* request, int status) {
  auto* self = static_cast<Connection*>(request->handle->data);
  if (self->state_ == State::Closing) {
    return;
  }
  if (status < 0) {
    self->fail(FailureKind::Connect, uvError("connect failed", status));
    return;
  }
  uv_tcp_nodelay(&self->tcp_, 1);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&self->tcp_), &Connection::onAlloc,
                &Connection::onRead);
  self->state_ = State::Handshaking;
  self->process();
}

void Connection::onAlloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  // Every read is consumed (copied into the TLS input) before the next
  // allocation, so one buffer serves all connections of a thread's loop.
  thread_local std::array<char, 65536> buffer;
  *buf = uv_buf_init(buffer.data(), static_cast<unsigned int>(buffer.size()));
}

void Connection::onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<Connection*>(stream->data);
  if (self->state_ == State::Closing || nread == 0) {
    return;
  }
  if (nread == UV_EOF) {
    self->peer_closed_ = true;
    self->onPeerClosed();
    return;
  }
  if (nread < 0) {
    bool in_handshake = self->state_ == State::Handshaking;
    self->fail(in_handshake ? FailureKind::Handshake : FailureKind::Io,
               uvError("read failed", static_cast<int>(nread)));
    return;
  }
  self->tls_->feed(buf->base, static_cast<size_t>(nread));
  self->process();
}

void Connection::onWrite(uv_write_t* request, int status) {
  std::unique_ptr<WriteRequest> owned(static_cast<WriteRequest*>(request->data));
  auto* self = static_cast<Connection*>(request->handle->data);
  // UV_ECANCELED arrives for writes still queued when the handle closed.
  if (status < 0 && self->state_ != State::Closing) {
    self->fail(FailureKind::Io, uvError("write failed", status));
  }
}

void Connection::onTimeout(uv_timer_t* timer) {
  auto* self = static_cast<Connection*>(timer->data);
  self->fail(FailureKind::Timeout, std::string("timed out while ") + self->stateName());
}

void Connection::onHandleClosed(uv_handle_t* handle) {
  auto* self = static_cast<Connection*>(handle->data);
  if (--self->open_handles_ > 0) {
    return;
  }
  self->listener_.onClosed(*self);
  delete self;
}

void Connection::close() {
  if (state_ == State::Closing) {
    return;
  }
  state_ = State::Closing;
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Connection::onHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &Connection::onHandleClosed);
}

void Connection::process() {
  if (state_ == State::Handshaking) {
    TlsStatus status = tls_->handshake();
    if (!flush()) {
      return;
    }
    if (status == TlsStatus::WantMore) {
      return;
    }
    if (status != TlsStatus::Done) {
      fail(FailureKind::Handshake,
           status == TlsStatus::Failed ? tls_->errorText() : "close_notify during the handshake");
      return;
    }
    onHandshakeDone();
  }
  if (state_ != State::Handshaking && state_ != State::Closing) {
    readApplicationData();
  }
}

void Connection::onHandshakeDone() {
  handshake_done_ns_ = uv_hrtime();
  established_ = true;
  switch (config_.mode) {
    case Mode::Handshake:
    case Mode::Resume:
      // In TLS 1.3 the client finishes first, so the server has not yet
      // checked the client certificate. Closing politely and waiting for
      // the server's close makes every counted handshake one the server
      // completed and accepted.
      state_ = State::Confirming;
      tls_->sendCloseNotify();
      flush();
      break;
    case Mode::Request:
      state_ = State::AwaitingResponse;
      if (tls_->write(config_.request)) {
        flush();
      } else {
        fail(FailureKind::Io, "sending the request failed: " + tls_->errorText());
      }
      break;
    case Mode::Keepalive:
      sendNextRequest();
      break;
    case Mode::Idle:
      state_ = State::Idle;
      uv_timer_stop(&timer_);
      succeed(handshake_done_ns_ - operation_start_ns_);
      break;
  }
}

void Connection::sendNextRequest() {
  if (!listener_.claimRequest()) {
    close();
    return;
  }
  state_ = State::AwaitingResponse;
  parser_.reset();
  operation_start_ns_ = uv_hrtime();
  uv_timer_start(&timer_, &Connection::onTimeout, config_.timeout_ms, 0);
  if (!tls_->write(config_.request)) {
    fail(FailureKind::Io, "sending the request failed: " + tls_->errorText());
    return;
  }
  flush();
}

void Connection::readApplicationData() {
  std::string plaintext;
  TlsStatus status = tls_->read(&plaintext);
  if (!flush()) {
    return;
  }
  if (!plaintext.empty() && !onPlaintext(plaintext)) {
    return;
  }
  if (status == TlsStatus::PeerClosed) {
    peer_closed_ = true;
    onPeerClosed();
  } else if (status == TlsStatus::Failed) {
    onTlsFailed();
  }
}

// Returns false when the connection was closed.
bool Connection::onPlaintext(const std::string& plaintext) {
  if (state_ == State::Confirming) {
    // Some servers respond to the close of a connection that sent no request,
    // for example HAProxy with "400 Bad request". The handshake was still
    // accepted, so the data is dropped and the wait for the close goes on.
    return true;
  }
  if (state_ != State::AwaitingResponse) {
    fail(FailureKind::Io, std::string("unexpected data from the server while ") + stateName() +
                              ": " + firstLine(plaintext));
    return false;
  }
  ParseStatus status = parser_.feed(plaintext);
  if (status == ParseStatus::Invalid) {
    fail(FailureKind::Io, parser_.error());
    return false;
  }
  if (status == ParseStatus::Complete) {
    completeResponse();
  }
  return state_ != State::Closing;
}

void Connection::onPeerClosed() {
  switch (state_) {
    case State::Handshaking:
      fail(FailureKind::Handshake, "connection closed during the handshake");
      break;
    case State::Confirming:
      succeed(handshake_done_ns_ - operation_start_ns_);
      close();
      break;
    case State::AwaitingResponse:
      if (parser_.finish() == ParseStatus::Complete) {
        completeResponse();
      } else {
        fail(FailureKind::Io, parser_.error());
      }
      break;
    case State::Idle:
      fail(FailureKind::Io, "closed by the server while idle");
      break;
    case State::Connecting:
    case State::Closing:
      break;
  }
}

void Connection::onTlsFailed() {
  // An alert after the client's handshake is the server rejecting the
  // client certificate, as long as no response has arrived yet.
  bool before_response = responses_ == 0 && !parser_.started();
  bool rejected = state_ == State::Confirming || state_ == State::Idle ||
                  (state_ == State::AwaitingResponse && before_response);
  fail(rejected ? FailureKind::Handshake : FailureKind::Io, tls_->errorText());
}

void Connection::completeResponse() {
  ++responses_;
  int status = parser_.status();
  if (status == config_.expect_status) {
    succeed(uv_hrtime() - operation_start_ns_);
  } else {
    Outcome outcome;
    outcome.kind = FailureKind::Status;
    outcome.detail = "status " + std::to_string(status);
    listener_.onOutcome(*this, outcome);
  }
  if (config_.mode != Mode::Keepalive || !parser_.keepAlive() || peer_closed_) {
    close();
    return;
  }
  sendNextRequest();
}

bool Connection::flush() {
  if (state_ == State::Closing) {
    return false;
  }
  std::string output;
  tls_->takeOutput(&output);
  if (output.empty()) {
    return true;
  }
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  uv_buf_t buf = uv_buf_init(output.data(), static_cast<unsigned int>(output.size()));
  int written = uv_try_write(stream, &buf, 1);
  if (written == static_cast<int>(output.size())) {
    return true;
  }
  if (written < 0 && written != UV_EAGAIN) {
    fail(FailureKind::Io, uvError("write failed", written));
    return false;
  }
  auto* request = new WriteRequest();
  request->request.data = request;
  request->data = output.substr(written > 0 ? static_cast<size_t>(written) : 0);
  buf = uv_buf_init(request->data.data(), static_cast<unsigned int>(request->data.size()));
  int status = uv_write(&request->request, stream, &buf, 1, &Connection::onWrite);
  if (status < 0) {
    delete request;
    fail(FailureKind::Io, uvError("write failed", status));
    return false;
  }
  return true;
}

void Connection::succeed(uint64_t latency_ns) {
  Outcome outcome;
  outcome.ok = true;
  outcome.latency_ns = latency_ns;
  outcome.resumed = tls_->resumed();
  listener_.onOutcome(*this, outcome);
}

void Connection::fail(FailureKind kind, const std::string& detail) {
  if (state_ == State::Closing) {
    return;
  }
  Outcome outcome;
  outcome.kind = kind;
  outcome.detail = detail;
  listener_.onOutcome(*this, outcome);
  close();
}

}  // namespace bench
