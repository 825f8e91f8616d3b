#include "gateway/proxy/client_connection.h"

#include "gateway/common/log.h"
#include "gateway/common/metrics.h"
#include "gateway/http/target.h"
#include "gateway/proxy/client_connection_internal.h"
#include "gateway/proxy/server.h"
#include "gateway/proxy/upstream_link.h"
#include "gateway/proxy/write_request.h"
#include "gateway/tls/handshake_failure.h"
#include "gateway/tls/peer_identity.h"

namespace gw::proxy {

ClientConnection::ClientConnection(Server* server, std::shared_ptr<const Runtime> runtime,
                                   uint64_t id)
    : server_(server),
      runtime_(std::move(runtime)),
      id_("C" + std::to_string(id)),
      tls_(runtime_->tls.get()),
      accepted_at_(std::chrono::steady_clock::now()),
      parser_(http::MessageKind::Request, this, runtime_->config.limits.max_header_bytes),
      response_handler_(this) {}

ClientConnection::~ClientConnection() = default;

void ClientConnection::start(uv_stream_t* listener) {
  uv_loop_t* loop = server_->loop();
  uv_tcp_init(loop, &tcp_);
  uv_timer_init(loop, &timer_);
  uv_timer_init(loop, &upstream_timer_);
  tcp_.data = this;
  timer_.data = this;
  upstream_timer_.data = this;
  open_handles_ = 3;
  if (int rc = uv_accept(listener, reinterpret_cast<uv_stream_t*>(&tcp_)); rc != 0) {
    log::warn("conn.accept_failed", {{"conn", id_}, {"error", uv_strerror(rc)}});
    closeNow();
    return;
  }
  uv_tcp_nodelay(&tcp_, 1);
  peer_ = peerAddress(&tcp_, &peer_ip_);
  armTimer(runtime_->config.timeouts.handshake_ms);
  updateClientReading();
}

// --- Reading from the client ----------------------------------------------

void ClientConnection::onAlloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  thread_local char buffer[65536];
  // One buffer per loop thread: each read is consumed before its callback
  // returns.
  *buf = uv_buf_init(buffer, sizeof(buffer));
}

void ClientConnection::onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<ClientConnection*>(stream->data);
  if (self->state_ == State::Closed || nread == 0) {
    return;
  }
  if (nread < 0) {
    self->eof_ = true;
    self->handleClientEof();
    return;
  }
  self->handleCiphertext(std::string_view(buf->base, static_cast<size_t>(nread)));
}

void ClientConnection::handleCiphertext(std::string_view data) {
  tls_.feed(data);
  if (state_ == State::Handshaking) {
    doHandshake();
    return;
  }
  if (state_ != State::Open) {
    return;
  }
  tls::TlsStatus status = tls_.read(&input_);
  if (status == tls::TlsStatus::Failed) {
    log::info("conn.tls_error",
              {{"conn", id_}, {"peer", peer_}, {"tls_err", errorText(tls_.errorCode())}});
    writeRaw(tls_.takeOutput());
    closeAfterFlush(false);
    return;
  }
  processInput();
  if (status == tls::TlsStatus::Closed && state_ == State::Open) {
    eof_ = true;
    handleClientEof();
  }
}

void ClientConnection::handleClientEof() {
  if (state_ == State::Handshaking) {
    logHandshakeRejected("eof");
    closeNow();
    return;
  }
  if (state_ != State::Open) {
    closeNow();
    return;
  }
  // A request whose body stops before its end can never complete: abort
  // it now instead of waiting for a body timeout.
  if (exchange_.active && !exchange_.request_complete && !exchange_.response_started) {
    log::info("http.client_closed_mid_request",
              {{"conn", id_}, {"cn", identity_.cn}, {"bytes_in", exchange_.bytes_in}});
    closeNow();
    return;
  }
  // The client may half-close after its request; let the exchange finish.
  if (exchange_.active && !exchange_.response_complete) {
    close_after_exchange_ = true;
    updateClientReading();
    return;
  }
  closeNow();
}

// --- Handshake ----------------------------------------------------------------

void ClientConnection::doHandshake() {
  tls::TlsStatus status = tls_.handshake();
  if (status == tls::TlsStatus::Failed) {
    tls::HandshakeFailure reason = tls::classifyFailure(tls_.info(), tls_.errorCode());
    logHandshakeRejected(tls::reasonName(reason));
    if (reason == tls::HandshakeFailure::HttpRequest) {
      // A plain HTTP client gets a plain HTTP reply it can display.
      writeRaw(http::buildLocalReply(
          400, "This port expects HTTPS with a client certificate; use https://\n", true));
    } else {
      writeRaw(tls_.takeOutput());
    }
    closeAfterFlush(false);
    return;
  }
  writeRaw(tls_.takeOutput());
  if (status == tls::TlsStatus::Done) {
    onHandshakeDone();
    if (state_ == State::Open && input_.empty()) {
      tls_.releaseBuffers();
    }
  }
}

void ClientConnection::onHandshakeDone() {
  // TlsSession verified the chain, also for a resumed session, and the
  // identity was parsed once when the chain entered the verified-chain cache.
  if (tls_.info().verified) {
    identity_ = *tls_.info().verified->identity;
  }
  state_ = State::Open;
  handshake_ms_ = millisecondsSince(accepted_at_);
  if (const char* sni = SSL_get_servername(tls_.ssl(), TLSEXT_NAMETYPE_host_name)) {
    server_name_ = http::checkHostHeader(sni).host;
  }
  server_->recordHandshake(nullptr, SSL_session_reused(tls_.ssl()) != 0,
                           secondsSince(accepted_at_));
  log::debug("tls.handshake_ok",
             {{"conn", id_},
              {"peer", peer_},
              {"version", SSL_get_version(tls_.ssl())},
              {"cipher", SSL_CIPHER_get_name(SSL_get_current_cipher(tls_.ssl()))},
              {"cn", identity_.cn},
              {"dur_ms", millisecondsSince(accepted_at_)}});
  armTimer(runtime_->config.timeouts.idle_ms);
  // Application data may have arrived together with the Finished message.
  handleCiphertext({});
}

void ClientConnection::logHandshakeRejected(const char* reason) {
  server_->recordHandshake(reason, false, 0);
  // Repeated failures from one address for one reason are logged at the
  // 1st, 2nd, 4th, 8th ... occurrence, with the number left out between.
  uint64_t suppressed = 0;
  if (!server_->shouldLogRejection(peer_ip_ + " " + reason, &suppressed)) {
    return;
  }
  tls::ConnectionTlsInfo& info = tls_.info();
  std::string alert = "-";
  if (info.alert_sent >= 0) {
    alert = SSL_alert_desc_string_long(info.alert_sent);
  }
  policy::Identity presented;
  if (info.rejected) {
    presented = tls::identityOf(info.rejected.get());
    server_->recordIdentity(presented, std::string("rejected:") + reason);
  }
  log::info("tls.handshake_rejected",
            {{"conn", id_},
             {"peer", peer_},
             {"reason", reason},
             {"verify", verifyText(info.verify_error)},
             {"tls_err", errorText(tls_.errorCode())},
             {"alert", alert},
             {"cert_subject", presented.subject.empty() ? "-" : presented.subject},
             {"cert_issuer", presented.issuer.empty() ? "-" : presented.issuer},
             {"cert_serial", presented.serial_hex.empty() ? "-" : presented.serial_hex},
             {"cert_sha256", presented.fingerprint_sha256.empty()
                                 ? "-"
                                 : shortFingerprint(presented.fingerprint_sha256)},
             {"dur_ms", millisecondsSince(accepted_at_)},
             {"suppressed", suppressed}});
}

// --- Requests -----------------------------------------------------------------

void ClientConnection::processInput() {
  if (tunneling_) {
    if (!input_.empty() && upstream_ != nullptr) {
      upstream_->send(input_);
      input_.clear();
      armTimer(runtime_->config.timeouts.idle_ms);
    }
    updateClientReading();
    return;
  }
  // Responses to pipelined requests are produced only while the client
  // takes them: past kHighWater unsent bytes the rest of the input waits.
  while (state_ == State::Open && !parser_paused_ && !input_.empty() &&
         client_pending_bytes_ <= kHighWater) {
    http::FeedResult result = parser_.feed(input_);
    input_.erase(0, result.used);
    if (state_ != State::Open) {
      return;
    }
    if (result.status == http::ParseStatus::Error) {
      bool too_large = parser_.headerTooLarge();
      log::info(
          "http.bad_request",
          {{"conn", id_}, {"peer", peer_}, {"cn", identity_.cn}, {"error", parser_.errorReason()}});
      exchange_.reset();
      exchange_.active = true;
      exchange_.started = std::chrono::steady_clock::now();
      if (parser_.targetTooLong()) {
        sendLocalReply(414, "URI too long: the request target exceeds max_header_bytes\n", true);
      } else if (too_large) {
        sendLocalReply(431, "Request header fields too large\n", true);
      } else {
        sendLocalReply(400, "Bad request: " + parser_.errorReason() + "\n", true);
      }
      return;
    }
    if (result.status == http::ParseStatus::Paused || result.status == http::ParseStatus::Upgrade) {
      parser_paused_ = true;
      maybeFinishExchange();
    }
  }
  if (state_ == State::Open && parser_.inMessage() && !exchange_.active && !header_timer_armed_) {
    // A request has started: the rest of its head must arrive within
    // request_header_ms of its first byte, however slowly it trickles in.
    header_timer_armed_ = true;
    armTimer(runtime_->config.timeouts.request_header_ms);
  }
  updateClientReading();
}

void ClientConnection::Exchange::reset() {
  std::string head = std::move(upstream_head);
  std::vector<std::string> addresses = std::move(tried);
  std::string body = std::move(held);
  *this = Exchange{};
  head.clear();
  addresses.clear();
  body.clear();
  upstream_head = std::move(head);
  tried = std::move(addresses);
  if (body.capacity() <= kKeptHeldCapacity) {
    held = std::move(body);
  }
}

http::HeadAction ClientConnection::onHead(http::MessageHead& head) {
  exchange_.reset();
  exchange_.active = true;
  exchange_.method = head.method;
  exchange_.version_minor = head.version_minor;
  exchange_.keep_alive = head.keep_alive && !head.upgrade;
  // A GET with "Connection: Upgrade" (WebSocket) is forwarded with its
  // Upgrade header; a 101 from the upstream turns the connection into a
  // tunnel.
  if (head.upgrade && head.method == "GET") {
    if (const std::string* protocol = head.find("Upgrade")) {
      exchange_.upgrade_protocol = *protocol;
    }
  }
  exchange_.started = std::chrono::steady_clock::now();
  header_timer_armed_ = false;
  uv_timer_stop(&timer_);
  bool has_body = head.chunked || head.content_length > 0;

  if (!adoptCurrentRuntime()) {
    return http::HeadAction::Continue;
  }
  uint64_t max_body = runtime_->config.limits.max_body_bytes;
  if (head.has_content_length && head.content_length > max_body) {
    log::info("http.body_too_large", {{"conn", id_},
                                      {"cn", identity_.cn},
                                      {"content_length", head.content_length},
                                      {"max_body_bytes", max_body},
                                      {"status", 413}});
    sendLocalReply(413, "Content too large: the request body exceeds the gateway's limit\n", true);
    return http::HeadAction::Continue;
  }
  http::TargetCheck target = http::checkTarget(head.target);
  if (!target.ok) {
    exchange_.path = head.target;
    log::info(
        "http.bad_target",
        {{"conn", id_}, {"cn", identity_.cn}, {"target", head.target}, {"error", target.reason}});
    sendLocalReply(400, "Bad request: " + target.reason + "\n", true);
    return http::HeadAction::Continue;
  }
  exchange_.path = target.path;
  head.target = target.target;  // forward the normalized form that was authorized
  if (!checkFraming(head)) {
    return http::HeadAction::Continue;
  }

  std::string host;
  if (!checkHost(head, &host)) {
    return http::HeadAction::Continue;
  }
  policy::Decision decision = runtime_->policy.decide(identity_, host, target.path);
  exchange_.route = decision.route;
  exchange_.rule = decision.rule;
  if (decision.verdict == policy::Verdict::NoRoute) {
    log::info("policy.no_route", {{"conn", id_},
                                  {"cn", identity_.cn},
                                  {"method", head.method},
                                  {"host", host.empty() ? "-" : host},
                                  {"path", target.path},
                                  {"status", 404}});
    exchange_.decision = "no_route";
    sendLocalReply(404, kNotFoundBody, has_body);
    return http::HeadAction::Continue;
  }
  if (decision.verdict == policy::Verdict::Deny && decision.needs_certificate) {
    log::info("policy.denied", {{"conn", id_},
                                {"peer", peer_},
                                {"cn", "-"},
                                {"method", head.method},
                                {"path", target.path},
                                {"route", decision.route->pattern()},
                                {"reason", decision.reason},
                                {"status", 403}});
    exchange_.decision = "deny";
    sendLocalReply(403, kCertificateNeededBody, has_body);
    return http::HeadAction::Continue;
  }
  if (decision.verdict == policy::Verdict::Allow && !checkRouteTrust(*decision.route)) {
    exchange_.decision = "deny";
    sendLocalReply(403, kForbiddenBody, has_body);
    return http::HeadAction::Continue;
  }
  if (decision.verdict == policy::Verdict::Deny) {
    log::info("policy.denied", {{"conn", id_},
                                {"peer", peer_},
                                {"cn", identity_.cn},
                                {"method", head.method},
                                {"path", target.path},
                                {"route", decision.route->pattern()},
                                {"rule", decision.rule},
                                {"reason", decision.reason},
                                {"status", 403}});
    exchange_.decision = "deny";
    sendLocalReply(403, kForbiddenBody, has_body);
    return http::HeadAction::Continue;
  }
  if (log::enabled(log::Level::Debug)) {
    log::debug("policy.allowed", {{"conn", id_},
                                  {"cn", identity_.cn},
                                  {"path", target.path},
                                  {"route", decision.route->pattern()},
                                  {"rule", decision.rule}});
  }
  forward(head, *decision.route);
  return http::HeadAction::Continue;
}

// checkRouteTrust applies a route's own client_ca: the certificate passed
// the handshake's CAs, but this route may accept fewer issuers.
bool ClientConnection::checkRouteTrust(const policy::Route& route) {
  if (!route.has_own_trust || route.is_public) {
    return true;
  }
  auto trust = runtime_->route_trust.find(route.source);
  int verify_error = X509_V_ERR_UNSPECIFIED;
  if (trust != runtime_->route_trust.end()) {
    verify_error = tls::verifyPeerWithTrust(tls_.ssl(), *trust->second);
  }
  if (verify_error == X509_V_OK) {
    return true;
  }
  log::info("policy.denied", {{"conn", id_},
                              {"peer", peer_},
                              {"cn", identity_.cn},
                              {"path", exchange_.path},
                              {"route", route.pattern()},
                              {"reason", "certificate not accepted by the route's client_ca"},
                              {"verify", verifyText(verify_error)},
                              {"status", 403}});
  return false;
}

bool ClientConnection::adoptCurrentRuntime() {
  const std::shared_ptr<const Runtime>& current = server_->runtime();
  if (current == runtime_) {
    return true;
  }
  if (identity_.fingerprint_sha256.empty()) {
    // No client certificate (client_cert = "request"). Once the reloaded
    // configuration requires one, the connection ends as a new handshake
    // without a certificate would; otherwise the new policy decides.
    if (current->config.tls.client_cert != "request") {
      log::info("tls.revalidation_failed", {{"conn", id_},
                                            {"peer", peer_},
                                            {"cn", "-"},
                                            {"reason", "no_certificate"},
                                            {"status", 403}});
      exchange_.decision = "revoked";
      sendLocalReply(403, kNoLongerAcceptedBody, true);
      return false;
    }
    runtime_ = current;
    connection_headers_names_ = nullptr;
    return true;
  }
  // The configuration was reloaded since this connection's handshake: the
  // certificate must pass the new trust settings before the new policy
  // applies to it.
  int verify_error = tls::verifyPeer(tls_.ssl(), current->tls.get()).error;
  if (verify_error != X509_V_OK) {
    tls_.info().verify_error = verify_error;
    const char* reason = tls::reasonName(tls::classifyFailure(tls_.info(), 0));
    log::info("tls.revalidation_failed", {{"conn", id_},
                                          {"peer", peer_},
                                          {"cn", identity_.cn},
                                          {"reason", reason},
                                          {"verify", verifyText(verify_error)},
                                          {"status", 403}});
    exchange_.decision = "revoked";
    sendLocalReply(403, kNoLongerAcceptedBody, true);
    return false;
  }
  runtime_ = current;
  connection_headers_names_ = nullptr;
  return true;
}

// checkHost picks the host name used for routing: the TLS server name
// (SNI) if the client sent one, else the Host header. When routes differ by
// host, a Host header naming another host than the SNI gets 421, so that a
// connection set up for one virtual host is never used for another.
bool ClientConnection::checkHost(const http::MessageHead& head, std::string* out_host) {
  // Exactly one valid Host header (RFC 9112, section 3.2), so that the
  // gateway and the upstream cannot route by different ones.
  int host_headers = 0;
  const std::string* value = nullptr;
  for (const http::Header& header : head.headers) {
    if (http::equalsIgnoreCase(header.name, "Host")) {
      host_headers++;
      value = &header.value;
    }
  }
  http::HostCheck host;
  std::string problem;
  if (host_headers > 1) {
    problem = "more than one Host header";
  } else if (host_headers == 0 && head.version_minor >= 1) {
    problem = "missing Host header";
  } else if (value != nullptr) {
    host = http::checkHostHeader(*value);
    problem = host.ok ? "" : host.reason;
  }
  if (!problem.empty()) {
    log::info("http.bad_host", {{"conn", id_}, {"cn", identity_.cn}, {"error", problem}});
    sendLocalReply(400, "Bad request: " + problem + "\n", true);
    return false;
  }
  const std::string& server_name = server_name_;
  if (runtime_->policy.hasHostRoutes() && !server_name.empty() && !host.host.empty() &&
      server_name != host.host) {
    log::info("http.misdirected", {{"conn", id_},
                                   {"cn", identity_.cn},
                                   {"sni", server_name},
                                   {"host", host.host},
                                   {"status", 421}});
    sendLocalReply(421,
                   "Misdirected request: the Host header does not match the TLS server "
                   "name\n",
                   true);
    return false;
  }
  *out_host = !server_name.empty() ? server_name : host.host;
  return true;
}

// checkFraming rejects what the gateway cannot forward faithfully: HTTP
// versions other than 1.0 and 1.1, and transfer codings other than
// chunked (re-chunking would drop them).
bool ClientConnection::checkFraming(const http::MessageHead& head) {
  if (head.version_major != 1 || head.version_minor > 1) {
    log::info("http.bad_version", {{"conn", id_},
                                   {"version_major", head.version_major},
                                   {"version_minor", head.version_minor}});
    sendLocalReply(505, "HTTP version not supported; use HTTP/1.1\n", true);
    return false;
  }
  std::vector<std::string> codings;
  for (const http::Header& header : head.headers) {
    if (!http::equalsIgnoreCase(header.name, "Transfer-Encoding")) {
      continue;
    }
    size_t start = 0;
    while (start <= header.value.size()) {
      size_t end = std::min(header.value.find(',', start), header.value.size());
      std::string coding = header.value.substr(start, end - start);
      coding.erase(0, coding.find_first_not_of(" \t"));
      coding.erase(coding.find_last_not_of(" \t") + 1);
      if (!coding.empty()) {
        codings.push_back(coding);
      }
      start = end + 1;
    }
  }
  // RFC 9112, section 6.3: without chunked as the final coding the body
  // length cannot be determined, which requires 400 and a close.
  if (!codings.empty() && !http::equalsIgnoreCase(codings.back(), "chunked")) {
    log::info("http.bad_framing", {{"conn", id_}, {"coding", codings.back()}});
    sendLocalReply(400, "Bad request: the final transfer coding is not chunked\n", true);
    return false;
  }
  for (const std::string& coding : codings) {
    if (!http::equalsIgnoreCase(coding, "chunked")) {
      log::info("http.unsupported_coding", {{"conn", id_}, {"coding", coding}});
      sendLocalReply(501, "Not implemented: transfer coding '" + coding + "'\n", true);
      return false;
    }
  }
  return true;
}

void ClientConnection::onBody(std::string_view data) {
  if (!exchange_.forwarded || (upstream_ == nullptr && !exchange_.holding)) {
    return;  // the request got a local reply, so its body is discarded
  }
  exchange_.bytes_in += data.size();
  if (exchange_.bytes_in > runtime_->config.limits.max_body_bytes) {
    // A chunked body grew past the limit after forwarding began.
    log::info(
        "http.body_too_large",
        {{"conn", id_}, {"cn", identity_.cn}, {"bytes_in", exchange_.bytes_in}, {"status", 413}});
    if (exchange_.response_started) {
      closeNow();
    } else {
      detachUpstream();
      exchange_.forwarded = false;
      exchange_.holding = false;
      sendLocalReply(413, "Content too large: the request body exceeds the gateway's limit\n",
                     true);
    }
    return;
  }
  if (exchange_.holding) {
    if (exchange_.request_chunked) {
      exchange_.held += http::encodeChunk(data);
    } else {
      exchange_.held.append(data);
    }
    armTimer(runtime_->config.timeouts.request_body_ms);
    if (exchange_.held.size() > runtime_->config.limits.request_buffer_bytes) {
      sendHeldRequest();  // too large to hold: the rest streams
    }
    return;
  }
  if (exchange_.request_chunked) {
    upstream_->send(http::encodeChunk(data));
  } else {
    upstream_->send(data);
  }
  updateClientReading();
}

void ClientConnection::onMessageComplete() {
  exchange_.request_complete = true;
  if (!exchange_.forwarded) {
    return;
  }
  if (exchange_.holding) {
    if (exchange_.request_chunked) {
      exchange_.held += http::buildLastChunk(parser_.trailers());
    }
    sendHeldRequest();
  } else if (upstream_ != nullptr && exchange_.request_chunked) {
    upstream_->send(http::buildLastChunk(parser_.trailers()));
  }
}

// sendHeldRequest ends holding: it connects to the upstream and sends the
// head and the body bytes held so far.
void ClientConnection::sendHeldRequest() {
  exchange_.holding = false;
  uv_timer_stop(&timer_);
  if (!connectUpstream()) {
    return;  // connectUpstream replied with 502
  }
  upstream_->send(exchange_.upstream_head);
  if (!exchange_.held.empty()) {
    upstream_->send(exchange_.held);
    exchange_.held.clear();
  }
  setUpstreamReading(client_pending_bytes_ < kHighWater);
  updateClientReading();
}

void ClientConnection::forward(const http::MessageHead& head, const policy::Route& route) {
  exchange_.forwarded = true;
  exchange_.decision = "allow";
  exchange_.request_chunked = head.chunked;
  exchange_.upstream_name = route.upstream;
  // Only a request without a body whose method is idempotent may be sent
  // again after a kept-alive upstream connection turns out to be closed.
  exchange_.retryable = !head.chunked && head.content_length == 0 &&
                        (head.method == "GET" || head.method == "HEAD" || head.method == "OPTIONS");
  if (!route.headers.client_cert.empty() || !route.headers.client_cert_chain.empty()) {
    addCertificateEncodings();
  }
  if (connection_headers_names_ != &route.headers) {
    connection_headers_ =
        http::buildConnectionHeaders(identity_, http::ForwardedFor{peer_ip_}, route.headers);
    connection_headers_names_ = &route.headers;
  }
  exchange_.upstream_head.clear();
  http::appendUpstreamRequestHead(&exchange_.upstream_head, head,
                                  runtime_->policy.identityHeaderNames(), connection_headers_);
  if (!exchange_.upgrade_protocol.empty()) {
    exchange_.upstream_head.insert(
        exchange_.upstream_head.size() - 2,
        "Connection: Upgrade\r\nUpgrade: " + exchange_.upgrade_protocol + "\r\n");
    exchange_.retryable = false;
  }
  if (upstream_ != nullptr && (!upstream_->idle || upstream_->upstream_name != route.upstream)) {
    releaseUpstream();
  }
  // A body of up to request_buffer_bytes is received whole before any of
  // the request goes to the upstream, so that a body whose framing turns
  // out to be broken (a bad chunk size, say) reaches no upstream. A client
  // that sent Expect: 100-continue waits for the upstream's 100 before it
  // sends the body, so its request streams at once.
  if ((head.chunked || head.content_length > 0) &&
      runtime_->config.limits.request_buffer_bytes > 0 && exchange_.upgrade_protocol.empty() &&
      head.find("Expect") == nullptr) {
    releaseUpstream();  // a kept-alive link waits in the pool meanwhile
    exchange_.holding = true;
    armTimer(runtime_->config.timeouts.request_body_ms);
    return;
  }
  if (upstream_ != nullptr) {
    // The response timer starts in setUpstreamReading below.
    exchange_.reused_link = true;
    exchange_.upstream_address = upstream_->address;
    upstream_->parser.resume();
    upstream_->idle = false;
  } else if (!connectUpstream()) {
    return;
  }
  upstream_->send(exchange_.upstream_head);
  setUpstreamReading(client_pending_bytes_ < kHighWater);
}

// addCertificateEncodings fills the base64 DER of the client certificate
// and its intermediates. Only the RFC 9440 headers need them, so they are
// made on first use and idle connections do not carry them.
void ClientConnection::addCertificateEncodings() {
  if (!identity_.cert_base64.empty()) {
    return;
  }
  const STACK_OF(CRYPTO_BUFFER)* certs = SSL_get0_peer_certificates(tls_.ssl());
  if (certs == nullptr || sk_CRYPTO_BUFFER_num(certs) == 0) {
    return;
  }
  const CRYPTO_BUFFER* leaf = sk_CRYPTO_BUFFER_value(certs, 0);
  identity_.cert_base64 = tls::base64Der(CRYPTO_BUFFER_data(leaf), CRYPTO_BUFFER_len(leaf));
  for (size_t i = 1; i < sk_CRYPTO_BUFFER_num(certs); i++) {
    const CRYPTO_BUFFER* member = sk_CRYPTO_BUFFER_value(certs, i);
    std::string encoded = tls::base64Der(CRYPTO_BUFFER_data(member), CRYPTO_BUFFER_len(member));
    if (encoded != identity_.cert_base64) {  // a client may repeat its leaf in the chain
      identity_.chain_base64.push_back(std::move(encoded));
    }
  }
}

bool ClientConnection::connectUpstream() {
  auto found = runtime_->upstreams.find(exchange_.upstream_name);
  const UpstreamAddress* address = found == runtime_->upstreams.end()
                                       ? nullptr
                                       : server_->pickAddress(found->second, exchange_.tried);
  if (address == nullptr) {
    failUpstream(502, "Bad gateway: upstream unavailable\n",
                 found == runtime_->upstreams.end() ? "unknown upstream" : "no address left");
    return false;
  }
  exchange_.tried.push_back(address->display);
  exchange_.upstream_address = address->display;
  if (UpstreamLink* pooled = server_->takeUpstream(address->display, this, &response_handler_)) {
    upstream_ = pooled;
    exchange_.reused_link = true;
    upstream_->parser.resume();
    upstream_->idle = false;
    armUpstreamTimer(runtime_->config.timeouts.upstream_response_ms);
    return true;
  }
  int error = 0;
  upstream_ = UpstreamLink::create(server_->loop(), this, *address, &response_handler_,
                                   runtime_->config.limits.max_header_bytes, &error);
  if (upstream_ == nullptr) {
    server_->markAddress(address->display, false);
    failUpstream(502, "Bad gateway: upstream unavailable\n", uv_strerror(error));
    return false;
  }
  upstream_->idle = false;
  armUpstreamTimer(runtime_->config.timeouts.upstream_connect_ms);
  return true;
}

// retryUpstream moves the request to another connection. It is safe when
// no byte reached the upstream (a failed connect: the bytes are still
// queued) or when a retryable request found a kept-alive connection closed.
bool ClientConnection::retryUpstream(const std::string& error) {
  std::string pending = upstream_ != nullptr ? upstream_->takeQueued() : std::string();
  bool connect_failed = upstream_ != nullptr && !upstream_->connected;
  if (!connect_failed) {
    pending = exchange_.upstream_head;
    // Only the kept-alive connection closed, not the address, so the
    // address may serve the request again, once.
    std::erase(exchange_.tried, exchange_.upstream_address);
    exchange_.retryable = false;
  }
  log::info("upstream.retry", {{"conn", id_},
                               {"upstream", exchange_.upstream_name},
                               {"address", exchange_.upstream_address},
                               {"error", error}});
  detachUpstream();
  exchange_.reused_link = false;
  if (!connectUpstream()) {
    return true;  // connectUpstream replied with 502
  }
  upstream_->send(pending);
  return true;
}

void ClientConnection::sendLocalReply(int status, std::string_view body, bool close) {
  close = close || !exchange_.keep_alive || close_after_exchange_ || server_->draining();
  exchange_.status = status;
  exchange_.response_started = true;
  exchange_.response_complete = true;
  exchange_.bytes_out += body.size();
  if (close) {
    close_after_exchange_ = true;
  }
  sendPlaintext(http::buildLocalReply(status, body, close));
  logExchange();
  if (close) {
    closeAfterFlush(true);
  }
}

void ClientConnection::maybeFinishExchange() {
  if (!exchange_.active || !exchange_.request_complete || !exchange_.response_complete) {
    return;
  }
  exchange_.reset();
  if (close_after_exchange_ || eof_ || server_->draining()) {
    closeAfterFlush(true);
    return;
  }
  parser_.resume();
  parser_paused_ = false;
  if (input_.empty() && input_.capacity() > kKeptInputCapacity) {
    input_.shrink_to_fit();  // an idle connection keeps little read capacity
  }
  armTimer(runtime_->config.timeouts.idle_ms);
}

void ClientConnection::logExchange(const char* outcome) {
  exchange_.logged = true;
  const std::string& decision = exchange_.decision.empty() ? "bad_request" : exchange_.decision;
  static const std::string kNoRoute = "-";
  const std::string& route = exchange_.route != nullptr ? exchange_.route->pattern() : kNoRoute;
  server_->recordRequest(route, decision, exchange_.status, secondsSince(exchange_.started));
  server_->recordIdentity(identity_, decision);
  if (!log::enabled(log::Level::Info)) {
    return;  // the access-log fields below cost string work on every request
  }
  std::string sans;
  for (const auto* list : {&identity_.dns, &identity_.uri, &identity_.email, &identity_.ip}) {
    for (const std::string& value : *list) {
      sans += (sans.empty() ? "" : ",") + value;
    }
  }
  const SSL* ssl = tls_.ssl();
  log::info("http.request",
            {{"conn", id_},
             {"peer", peer_},
             {"tls", SSL_get_version(ssl)},
             {"cipher", SSL_CIPHER_get_name(SSL_get_current_cipher(ssl))},
             {"resumed", SSL_session_reused(ssl) ? "true" : "false"},
             {"cn", identity_.cn},
             {"sans", sans.empty() ? "-" : sans},
             {"serial", identity_.serial_hex},
             {"sha256", identity_.fingerprint_sha256},
             {"method", exchange_.method},
             {"path", exchange_.path},
             {"route", route},
             {"rule", exchange_.rule.empty() ? "-" : exchange_.rule},
             {"decision", decision},
             {"upstream", exchange_.upstream_address.empty() ? "-" : exchange_.upstream_address},
             {"status", exchange_.status},
             {"bytes_in", exchange_.bytes_in},
             {"bytes_out", exchange_.bytes_out},
             {"handshake_ms", handshake_ms_},
             {"upstream_ms", exchange_.upstream_ms},
             {"total_ms", millisecondsSince(exchange_.started)},
             {"outcome", outcome}});
}

}  // namespace gw::proxy
