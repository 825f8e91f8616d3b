// ClientConnection: the upstream side of an exchange and the relayed response.
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

// --- Upstream -----------------------------------------------------------------

void ClientConnection::failUpstream(int status, std::string_view body, const std::string& error) {
  if (exchange_.route != nullptr) {
    server_->recordUpstreamResult(exchange_.route->upstream, status == 504 ? "timeout" : "error");
    exchange_.status = exchange_.response_started ? exchange_.status : status;
  }
  if (upstream_ != nullptr && !upstream_->connected) {
    server_->markAddress(upstream_->address, false);
  }
  log::warn("upstream.error",
            {{"conn", id_},
             {"upstream", exchange_.route != nullptr ? exchange_.route->upstream : "-"},
             {"address", upstream_ != nullptr ? upstream_->address : "-"},
             {"error", error},
             {"status", status}});
  uv_timer_stop(&upstream_timer_);
  bool started = exchange_.response_started;
  detachUpstream();
  if (started) {
    // Part of the response is already out; the client can only learn of
    // the failure from the connection closing early.
    closeNow();
    return;
  }
  // The rest of the request body cannot be forwarded, so this connection
  // ends with the reply.
  exchange_.forwarded = false;
  sendLocalReply(status, body, true);
}

void ClientConnection::onUpstreamConnected(UpstreamLink* link, int status) {
  if (link != upstream_) {
    return;
  }
  server_->markAddress(link->address, status == 0);
  if (status != 0) {
    if (hasUntriedAddress()) {
      retryUpstream(uv_strerror(status));
      return;
    }
    failUpstream(502, "Bad gateway: upstream unavailable\n", uv_strerror(status));
    return;
  }
  armUpstreamTimer(runtime_->config.timeouts.upstream_response_ms);
  // The bytes queued during the connect may have gone out at once, with no
  // write callback to report the drain, so client reading resumes here.
  updateClientReading();
}

void ClientConnection::onUpstreamData(UpstreamLink* link, std::string_view data) {
  if (link != upstream_) {
    return;
  }
  PlaintextBatch batch(this);
  if (tunneling_) {
    sendPlaintext(data);
    armTimer(runtime_->config.timeouts.idle_ms);
    if (client_pending_bytes_ > kHighWater) {
      setUpstreamReading(false);
    }
    return;
  }
  if (link->idle || !exchange_.forwarded) {
    // Bytes from an upstream that owes no response: close it.
    log::warn("upstream.unexpected_data", {{"conn", id_}, {"address", link->address}});
    detachUpstream();
    return;
  }
  std::string_view rest = data;
  while (true) {
    http::FeedResult result = link->parser.feed(rest);
    if (upstream_ != link || state_ != State::Open) {
      return;
    }
    if (result.status == http::ParseStatus::Error) {
      failUpstream(
          502, "Bad gateway: invalid response from upstream\n",
          "invalid response: " + (upstream_protocol_error_.empty() ? link->parser.errorReason()
                                                                   : upstream_protocol_error_));
      return;
    }
    rest.remove_prefix(result.used);
    if (tunnel_pending_) {
      startTunnel(rest);
      return;
    }
    if (result.status == http::ParseStatus::Paused && interim_complete_) {
      // An interim response ended; the final one follows.
      interim_complete_ = false;
      link->parser.resume();
      continue;
    }
    break;
  }
  if (!exchange_.response_complete) {
    // The upstream sent data, so its response timeout starts again, unless
    // reading stopped for a slow client and the client's timeout applies.
    if (link->wantsReading()) {
      armUpstreamTimer(runtime_->config.timeouts.upstream_response_ms);
    }
    return;
  }
  if (!rest.empty()) {
    log::warn("upstream.unexpected_data", {{"conn", id_}, {"address", link->address}});
  }
  if (rest.empty() && upstream_keep_alive_ && exchange_.request_complete && !link->write_failed) {
    link->idle = true;
  } else {
    detachUpstream();
  }
  afterResponse();
}

// startTunnel switches the connection to relaying raw bytes both ways after
// a 101 response. |rest| is what the upstream sent after the 101 head.
void ClientConnection::startTunnel(std::string_view rest) {
  tunnel_pending_ = false;
  tunneling_ = true;
  uv_timer_stop(&upstream_timer_);
  log::debug("tunnel.started", {{"conn", id_}, {"protocol", exchange_.upgrade_protocol}});
  if (!rest.empty()) {
    sendPlaintext(rest);
  }
  // Client bytes that followed the request head belong to the tunnel.
  processInput();
}

void ClientConnection::afterResponse() {
  if (!exchange_.request_complete) {
    // The upstream replied before the request body ended. The rest of the
    // body has nowhere to go, so the connection ends with this response.
    close_after_exchange_ = true;
    closeAfterFlush(true);
    return;
  }
  if (parser_paused_) {
    maybeFinishExchange();
    processInput();
  }
}

void ClientConnection::onUpstreamEof(UpstreamLink* link, int status) {
  if (link != upstream_) {
    return;
  }
  if (tunneling_) {
    log::debug("tunnel.closed", {{"conn", id_}, {"by", "upstream"}});
    closeAfterFlush(true);
    return;
  }
  if (link->idle) {
    detachUpstream();  // the upstream closed a kept-alive connection
    return;
  }
  if (exchange_.reused_link && exchange_.retryable && !exchange_.response_started &&
      !link->parser.inMessage()) {
    // The upstream closed the kept-alive connection as the request went out.
    retryUpstream(status == UV_EOF ? "kept-alive connection closed" : uv_strerror(status));
    return;
  }
  if (status == UV_EOF && exchange_.response_started &&
      link->parser.finish() == http::ParseStatus::Ok && exchange_.response_complete) {
    // The body ran until the upstream closed the connection.
    detachUpstream();
    afterResponse();
    return;
  }
  failUpstream(502, "Bad gateway: upstream closed the connection\n",
               status == UV_EOF ? "connection closed before the response was complete"
                                : uv_strerror(status));
}

// onUpstreamWriteFailed keeps reading from an upstream that stopped taking
// the request, because a server that rejects a request (401, 413) often
// sends its response and closes before the body ends. As in nginx, the
// response is relayed, the rest of the body is discarded, and the client
// connection closes after the response. The read side then reports the
// close, with a 502 only when no response arrived.
void ClientConnection::onUpstreamWriteFailed(UpstreamLink* link, int status) {
  if (link != upstream_) {
    return;
  }
  if (tunneling_) {
    onUpstreamEof(link, status);
    return;
  }
  log::debug("upstream.write_failed",
             {{"conn", id_}, {"address", link->address}, {"error", uv_strerror(status)}});
  close_after_exchange_ = true;
  updateClientReading();
}

void ClientConnection::onUpstreamDrained(UpstreamLink* link) {
  if (link == upstream_ && link->pending_bytes < kLowWater) {
    updateClientReading();
  }
}

void ClientConnection::onUpstreamTimer(uv_timer_t* timer) {
  auto* self = static_cast<ClientConnection*>(timer->data);
  if (self->upstream_ == nullptr || self->state_ != State::Open) {
    return;
  }
  bool connecting = !self->upstream_->connected;
  if (!connecting && !self->exchange_.request_complete && !self->exchange_.response_started) {
    // The upstream waits for the rest of the body, which the client does
    // not send: the client's fault, so the upstream keeps its health.
    log::info("http.body_timeout", {{"conn", self->id_}, {"cn", self->identity_.cn}});
    self->detachUpstream();
    self->exchange_.forwarded = false;
    self->sendLocalReply(408, "Request timeout: the request body did not arrive in time\n", true);
    return;
  }
  if (connecting) {
    self->server_->markAddress(self->upstream_->address, false);
    if (self->hasUntriedAddress()) {
      self->retryUpstream("connect timed out");
      return;
    }
  }
  self->failUpstream(504, "Gateway timeout: upstream did not respond in time\n",
                     connecting ? "connect timed out" : "response timed out");
}

bool ClientConnection::hasUntriedAddress() const {
  auto found = runtime_->upstreams.find(exchange_.upstream_name);
  return found != runtime_->upstreams.end() &&
         exchange_.tried.size() < found->second.addresses.size();
}

void ClientConnection::detachUpstream() {
  if (upstream_ != nullptr) {
    upstream_->close();
    upstream_ = nullptr;
  }
  uv_timer_stop(&upstream_timer_);
}

// releaseUpstream hands an idle kept-alive link to the server's pool for
// another client connection, and closes any other link.
void ClientConnection::releaseUpstream() {
  if (upstream_ != nullptr) {
    server_->releaseUpstream(upstream_);
    upstream_ = nullptr;
  }
  uv_timer_stop(&upstream_timer_);
}

http::HeadAction ClientConnection::ResponseHandler::onHead(http::MessageHead& head) {
  http::HeadAction action = http::HeadAction::Continue;
  owner_->onResponseHead(head, &action);
  return action;
}

void ClientConnection::ResponseHandler::onBody(std::string_view data) {
  owner_->onResponseBody(data);
}

void ClientConnection::ResponseHandler::onMessageComplete() {
  owner_->onResponseComplete();
}

void ClientConnection::onResponseHead(http::MessageHead& head, http::HeadAction* out_action) {
  if (head.status == 101 && !exchange_.upgrade_protocol.empty()) {
    std::string out = "HTTP/1.1 101 Switching Protocols\r\n";
    for (const http::Header& header : head.headers) {
      if (!http::equalsIgnoreCase(header.name, "Content-Length") &&
          !http::equalsIgnoreCase(header.name, "Transfer-Encoding")) {
        out += header.name + ": " + header.value + "\r\n";
      }
    }
    out += "\r\n";
    exchange_.status = 101;
    exchange_.response_started = true;
    exchange_.response_complete = true;
    sendPlaintext(out);
    logExchange();
    tunnel_pending_ = true;
    *out_action = http::HeadAction::Upgrade;
    return;
  }
  if (head.status == 101) {
    // A 101 is only a valid reply to an upgrade request.
    upstream_protocol_error_ = "101 Switching Protocols, which the gateway never requested";
    *out_action = http::HeadAction::Reject;
    return;
  }
  if (head.status < 200) {
    // Interim responses (100 Continue, 103 Early Hints) pass through as they are.
    std::string interim = "HTTP/1.1 " + std::to_string(head.status) + " " +
                          http::reasonPhrase(head.status) + "\r\n\r\n";
    sendPlaintext(interim);
    interim_response_ = true;
    return;
  }
  interim_response_ = false;
  if (exchange_.route != nullptr) {
    server_->recordUpstreamResult(exchange_.route->upstream, nullptr);
    exchange_.upstream_ms = millisecondsSince(exchange_.started);
    server_->recordUpstreamDuration(exchange_.route->upstream, secondsSince(exchange_.started));
  }
  // A response that arrives before the request body ended closes the
  // connection after it (see afterResponse), so its head carries
  // Connection: close.
  bool close = !exchange_.keep_alive || close_after_exchange_ || server_->draining() ||
               !exchange_.request_complete;
  bool is_head = exchange_.method == "HEAD";
  exchange_.status = head.status;
  exchange_.response_started = true;
  response_head_.clear();
  http::appendClientResponseHead(&response_head_, head, is_head, exchange_.version_minor, close,
                                 &exchange_.framing);
  if (close || exchange_.framing == http::ResponseFraming::UntilClose) {
    close_after_exchange_ = true;
  }
  upstream_keep_alive_ = head.keep_alive;
  sendPlaintext(response_head_);
  if (is_head) {
    *out_action = http::HeadAction::SkipBody;
  }
}

void ClientConnection::onResponseBody(std::string_view data) {
  exchange_.bytes_out += data.size();
  if (exchange_.framing == http::ResponseFraming::Chunked) {
    sendPlaintext(http::encodeChunk(data));
  } else {
    sendPlaintext(data);
  }
  if (client_pending_bytes_ > kHighWater) {
    setUpstreamReading(false);
  }
}

void ClientConnection::onResponseComplete() {
  if (interim_response_) {
    interim_response_ = false;
    interim_complete_ = true;
    return;
  }
  if (exchange_.framing == http::ResponseFraming::Chunked) {
    sendPlaintext(upstream_ != nullptr ? http::buildLastChunk(upstream_->parser.trailers())
                                       : std::string(http::kLastChunk));
  }
  exchange_.response_complete = true;
  uv_timer_stop(&upstream_timer_);
  logExchange();
}

}  // namespace gw::proxy
