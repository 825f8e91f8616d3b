// ClientConnection: writing to the client, backpressure, closing and timers.
#include "gateway/common/log.h"
#include "gateway/common/metrics.h"
#include "gateway/http/target.h"
#include "gateway/proxy/client_connection.h"
#include "gateway/proxy/client_connection_internal.h"
#include "gateway/proxy/server.h"
#include "gateway/proxy/upstream_link.h"
#include "gateway/proxy/write_request.h"
#include "gateway/tls/handshake_failure.h"
#include "gateway/tls/peer_identity.h"

namespace gw::proxy {

// --- Writing and closing --------------------------------------------------------

void ClientConnection::sendPlaintext(std::string_view data) {
  if (state_ != State::Open || data.empty()) {
    return;
  }
  if (batching_plaintext_) {
    plaintext_batch_.append(data);
    if (plaintext_batch_.size() >= kMaxPlaintextBatch) {
      flushPlaintext();
    }
    return;
  }
  encryptAndWrite(data);
}

void ClientConnection::encryptAndWrite(std::string_view data) {
  if (!tls_.write(data)) {
    log::info("conn.tls_error", {{"conn", id_}, {"tls_err", errorText(tls_.errorCode())}});
    closeNow();
    return;
  }
  writeRaw(tls_.peekOutput());
  tls_.clearOutput();
}

// flushPlaintext encrypts the batched plaintext as one SSL_write, so a
// response head and a small body leave in one TLS record and one write.
void ClientConnection::flushPlaintext() {
  if (plaintext_batch_.empty()) {
    return;
  }
  if (state_ == State::Open) {
    encryptAndWrite(plaintext_batch_);
  }
  plaintext_batch_.clear();
}

ClientConnection::PlaintextBatch::PlaintextBatch(ClientConnection* owner) : owner_(owner) {
  owner_->batching_plaintext_ = true;
}

ClientConnection::PlaintextBatch::~PlaintextBatch() {
  owner_->batching_plaintext_ = false;
  owner_->flushPlaintext();
}

void ClientConnection::writeRaw(std::string_view data) {
  if (data.empty() || state_ == State::Closed) {
    return;
  }
  size_t queued = 0;
  int rc = WriteRequest::send(reinterpret_cast<uv_stream_t*>(&tcp_), data, onWrite, &queued);
  if (rc != 0) {
    log::debug("conn.write_failed", {{"conn", id_}, {"error", uv_strerror(rc)}});
    closeNow();
    return;
  }
  client_pending_bytes_ += queued;
  if (!exchange_.active || exchange_.holding) {
    return;  // a held body keeps its request_body_ms timer
  }
  // The client's send timeout runs while bytes wait for it. It restarts
  // whenever the client takes data, which is here for bytes written
  // directly and in onWrite for queued ones.
  bool timer_running = uv_is_active(reinterpret_cast<uv_handle_t*>(&timer_)) != 0;
  if (queued == 0 ? timer_running : !timer_running) {
    armTimer(runtime_->config.timeouts.idle_ms);
  }
}

void ClientConnection::onWrite(uv_write_t* req, int status) {
  auto* request = reinterpret_cast<WriteRequest*>(req);
  auto* self = static_cast<ClientConnection*>(req->handle->data);
  size_t len = request->data.size();
  delete request;
  self->client_pending_bytes_ -= std::min(self->client_pending_bytes_, len);
  if (self->state_ == State::Closed) {
    return;
  }
  if (status != 0) {
    log::debug("conn.write_failed", {{"conn", self->id_}, {"error", uv_strerror(status)}});
    self->closeNow();
    return;
  }
  if (self->state_ == State::Closing) {
    if (self->client_pending_bytes_ == 0) {
      self->finishClosing();
    }
    return;
  }
  if (self->exchange_.active && !self->exchange_.holding) {
    // The client is still taking data: restart its send timeout.
    self->armTimer(self->runtime_->config.timeouts.idle_ms);
  }
  if (self->client_pending_bytes_ < kLowWater) {
    self->setUpstreamReading(true);
    if (!self->reading_ || !self->input_.empty()) {
      self->processInput();  // resumes pipelined input held back above
    }
  }
}

void ClientConnection::updateClientReading() {
  if (lingering_) {
    return;  // finishClosing reads until the client closes
  }
  bool want = state_ == State::Handshaking || state_ == State::Open;
  want = want && !eof_;
  want = want && input_.size() < kMaxBufferedInput;
  want = want && (upstream_ == nullptr || upstream_->pending_bytes < kHighWater);
  want = want && client_pending_bytes_ <= kHighWater;
  if (want == reading_ || state_ == State::Closed) {
    return;
  }
  reading_ = want;
  if (want) {
    uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), onAlloc, onRead);
  } else {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
  }
}

void ClientConnection::closeAfterFlush(bool send_close_notify) {
  if (state_ == State::Closing || state_ == State::Closed) {
    return;
  }
  flushPlaintext();
  if (send_close_notify && state_ == State::Open) {
    tls_.shutdown();
    writeRaw(tls_.takeOutput());
    if (state_ == State::Closed) {
      return;
    }
  }
  // A client still sending its request body gets a lingering close.
  linger_ = !eof_ && exchange_.active && !exchange_.request_complete;
  state_ = State::Closing;
  releaseUpstream();
  updateClientReading();
  if (client_pending_bytes_ == 0) {
    finishClosing();
    return;
  }
  armTimer(kFlushTimeoutMs);
}

// finishClosing runs once the last reply bytes are written. If the client
// is still sending a request body (after a 413, or an early upstream
// response), closing at once makes the kernel send a reset. Some TCP
// stacks then drop received but unread data, the reply included. So such a
// connection first sends its FIN, then reads and discards for up to
// kLingerMs until the client closes too, like nginx's lingering close.
void ClientConnection::finishClosing() {
  if (!linger_) {
    closeNow();
    return;
  }
  linger_ = false;
  lingering_ = true;
  auto* request = new uv_shutdown_t;
  if (uv_shutdown(request, reinterpret_cast<uv_stream_t*>(&tcp_),
                  [](uv_shutdown_t* done, int) { delete done; }) != 0) {
    delete request;
    closeNow();
    return;
  }
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
  uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), onAlloc, onLingerRead);
  reading_ = true;
  armTimer(kLingerMs);
}

void ClientConnection::onLingerRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t*) {
  auto* self = static_cast<ClientConnection*>(stream->data);
  if (nread < 0 && self->state_ != State::Closed) {
    self->closeNow();  // the client closed or reset: nothing left to protect
  }
}

void ClientConnection::closeNow() {
  if (state_ == State::Closed) {
    return;
  }
  if (exchange_.active && !exchange_.logged && state_ != State::Handshaking) {
    // The exchange ends without a complete response (client gone, upstream
    // broke off, timeout, shutdown): it still gets its access-log line.
    logExchange("aborted");
  }
  state_ = State::Closed;
  plaintext_batch_.clear();
  releaseUpstream();
  server_->forget(this);
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), onClose);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), onClose);
  uv_close(reinterpret_cast<uv_handle_t*>(&upstream_timer_), onClose);
}

void ClientConnection::onClose(uv_handle_t* handle) {
  auto* self = static_cast<ClientConnection*>(handle->data);
  if (--self->open_handles_ == 0) {
    delete self;
  }
}

void ClientConnection::drain() {
  close_after_exchange_ = true;
  if (state_ == State::Handshaking) {
    closeNow();
  } else if (state_ == State::Open && !exchange_.active && !parser_.inMessage()) {
    closeAfterFlush(true);
  }
}

// --- Timers ---------------------------------------------------------------------

void ClientConnection::armTimer(uint32_t ms) {
  uv_timer_start(&timer_, onTimer, ms, 0);
}

void ClientConnection::armUpstreamTimer(uint32_t ms) {
  uv_timer_start(&upstream_timer_, onUpstreamTimer, ms, 0);
}

void ClientConnection::setUpstreamReading(bool on) {
  if (upstream_ == nullptr) {
    return;
  }
  upstream_->setReading(on);
  if (!upstream_->connected || upstream_->idle) {
    return;
  }
  // While the gateway stops reading because the client is slow, the
  // upstream's silence is not the upstream's fault: the client's send
  // timeout (timer_) covers that time instead.
  if (on && exchange_.forwarded && !exchange_.response_complete) {
    armUpstreamTimer(runtime_->config.timeouts.upstream_response_ms);
  } else if (!on) {
    uv_timer_stop(&upstream_timer_);
  }
}

void ClientConnection::onTimer(uv_timer_t* timer) {
  auto* self = static_cast<ClientConnection*>(timer->data);
  switch (self->state_) {
    case State::Handshaking:
      self->logHandshakeRejected("handshake_timeout");
      self->closeNow();
      break;
    case State::Open:
      if (self->tunneling_) {
        log::debug("tunnel.idle_timeout", {{"conn", self->id_}});
        self->closeAfterFlush(true);
      } else if (self->exchange_.holding) {
        log::info("http.body_timeout", {{"conn", self->id_}, {"cn", self->identity_.cn}});
        self->exchange_.holding = false;
        self->exchange_.forwarded = false;
        self->sendLocalReply(408, "Request timeout: the request body did not arrive in time\n",
                             true);
      } else if (self->exchange_.active) {
        log::info("conn.send_timeout",
                  {{"conn", self->id_}, {"peer", self->peer_}, {"cn", self->identity_.cn}});
        self->closeNow();
      } else if (self->parser_.inMessage()) {
        log::info("http.header_timeout",
                  {{"conn", self->id_}, {"peer", self->peer_}, {"cn", self->identity_.cn}});
        self->exchange_.reset();
        self->exchange_.active = true;
        self->exchange_.started = std::chrono::steady_clock::now();
        self->sendLocalReply(408, "Request timeout: the request head did not arrive in time\n",
                             true);
      } else {
        log::debug("conn.idle_timeout", {{"conn", self->id_}});
        self->closeAfterFlush(true);
      }
      break;
    case State::Closing:
      log::debug("conn.flush_timeout", {{"conn", self->id_}});
      self->closeNow();
      break;
    case State::Closed:
      break;
  }
}

}  // namespace gw::proxy
