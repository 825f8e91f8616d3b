#include "gateway/proxy/client_connection.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include "gateway/common/log.h"
#include "gateway/common/metrics.h"
#include "gateway/http/target.h"
#include "gateway/proxy/server.h"
#include "gateway/proxy/upstream_link.h"
#include "gateway/proxy/write_request.h"
#include "gateway/tls/handshake_failure.h"
#include "gateway/tls/peer_identity.h"

namespace gw::proxy {
namespace {

// Backpressure watermarks: a side stops reading when more than kHighWater
// bytes wait to be sent to the other side, and resumes below kLowWater.
constexpr size_t kHighWater = 256 * 1024;
constexpr size_t kLowWater = 64 * 1024;

// Pipelined requests beyond this many buffered bytes wait in the socket.
constexpr size_t kMaxBufferedInput = 64 * 1024;

// Time allowed to flush a final response or alert before closing anyway.
constexpr uint32_t kFlushTimeoutMs = 5000;

constexpr std::string_view kForbiddenBody = "Access denied: client not authorized\n";
constexpr std::string_view kNotFoundBody = "Not found: no route for this path\n";
constexpr std::string_view kCertificateNeededBody =
    "Client certificate required: this page is only for clients with a certificate from "
    "this site's CA. Install yours in the browser (or pass it to your client) and retry.\n";
constexpr std::string_view kNoLongerAcceptedBody =
    "Access denied: client certificate no longer accepted\n";

int64_t millisecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string peerAddress(uv_tcp_t* tcp, std::string* out_ip) {
  sockaddr_storage address{};
  int len = sizeof(address);
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&address), &len) != 0) {
    *out_ip = "-";
    return "-";
  }
  std::string text = formatAddress(reinterpret_cast<sockaddr*>(&address));
  size_t colon = text.rfind(':');
  *out_ip = text.substr(0, colon);
  if (!out_ip->empty() && (*out_ip)[0] == '[') {
    *out_ip = out_ip->substr(1, out_ip->size() - 2);
  }
  return text;
}

std::string verifyText(int verify_error) {
  if (verify_error == 0) {
    return "-";
  }
  return std::to_string(verify_error) + ":" + X509_verify_cert_error_string(verify_error);
}

std::string errorText(uint32_t code) {
  if (code == 0) {
    return "-";
  }
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : std::to_string(code);
}

std::string shortFingerprint(const std::string& fingerprint) {
  return fingerprint.substr(0, 16);
}

}  // namespace

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
  static char buffer[65536];
  // One loop thread: each read is consumed before its callback returns.
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
  bssl::UniquePtr<X509> cert(SSL_get_peer_certificate(tls_.ssl()));
  if (cert) {
    identity_ = tls::identityOf(cert.get());
  }
  // A resumed session skips certificate verification, and its ticket can
  // outlive the certificate. Reload changes the ticket keys, so CRL and CA
  // changes already force a full handshake; expiry is checked here.
  if (SSL_session_reused(tls_.ssl()) && cert &&
      X509_cmp_current_time(X509_get0_notAfter(cert.get())) <= 0) {
    tls_.info().verify_error = X509_V_ERR_CERT_HAS_EXPIRED;
    logHandshakeRejected("expired");
    closeNow();
    return;
  }
  state_ = State::Open;
  handshake_ms_ = millisecondsSince(accepted_at_);
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
      upstream_->send(std::move(input_));
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
      exchange_ = Exchange{};
      exchange_.active = true;
      exchange_.started = std::chrono::steady_clock::now();
      if (too_large) {
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

http::HeadAction ClientConnection::onHead(http::MessageHead& head) {
  exchange_ = Exchange{};
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
  log::debug("policy.allowed", {{"conn", id_},
                                {"cn", identity_.cn},
                                {"path", target.path},
                                {"route", decision.route->pattern()},
                                {"rule", decision.rule}});
  forward(head, *decision.route);
  return http::HeadAction::Continue;
}

// checkRouteTrust applies a route's own client_ca: the certificate passed
// the handshake's CAs, but this route may accept fewer issuers.
bool ClientConnection::checkRouteTrust(const policy::Route& route) {
  if (!route.has_own_trust || route.is_public) {
    return true;
  }
  auto store = runtime_->route_trust.find(route.source);
  bssl::UniquePtr<X509> leaf(SSL_get_peer_certificate(tls_.ssl()));
  int verify_error = X509_V_ERR_UNSPECIFIED;
  if (store != runtime_->route_trust.end() && leaf) {
    verify_error = tls::verifyChainInStore(leaf.get(), SSL_get_peer_cert_chain(tls_.ssl()),
                                           store->second.get());
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
  // The configuration was reloaded since this connection's handshake: the
  // certificate must pass the new trust settings before the new policy
  // applies to it.
  int verify_error = tls::reverifyPeer(tls_.ssl(), current->tls.get());
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
  const char* sni = SSL_get_servername(tls_.ssl(), TLSEXT_NAMETYPE_host_name);
  std::string server_name = sni != nullptr ? http::checkHostHeader(sni).host : "";
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
      if (!coding.empty() && !http::equalsIgnoreCase(coding, "chunked")) {
        log::info("http.unsupported_coding", {{"conn", id_}, {"coding", coding}});
        sendLocalReply(501, "Not implemented: transfer coding '" + coding + "'\n", true);
        return false;
      }
      start = end + 1;
    }
  }
  return true;
}

void ClientConnection::onBody(std::string_view data) {
  if (!exchange_.forwarded || upstream_ == nullptr) {
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
      sendLocalReply(413, "Content too large: the request body exceeds the gateway's limit\n",
                     true);
    }
    return;
  }
  upstream_->send(exchange_.request_chunked ? http::encodeChunk(data) : std::string(data));
  updateClientReading();
}

void ClientConnection::onMessageComplete() {
  exchange_.request_complete = true;
  if (exchange_.forwarded && upstream_ != nullptr && exchange_.request_chunked) {
    upstream_->send(http::buildLastChunk(parser_.trailers()));
  }
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
  http::ForwardedFor forwarded{peer_ip_};
  exchange_.upstream_head =
      http::buildUpstreamRequestHead(head, identity_, forwarded, route.headers);
  if (!exchange_.upgrade_protocol.empty()) {
    exchange_.upstream_head.insert(
        exchange_.upstream_head.size() - 2,
        "Connection: Upgrade\r\nUpgrade: " + exchange_.upgrade_protocol + "\r\n");
    exchange_.retryable = false;
  }
  if (upstream_ != nullptr && (!upstream_->idle || upstream_->upstream_name != route.upstream)) {
    detachUpstream();
  }
  if (upstream_ != nullptr) {
    exchange_.reused_link = true;
    exchange_.upstream_address = upstream_->address;
    upstream_->parser.resume();
    upstream_->idle = false;
    armUpstreamTimer(runtime_->config.timeouts.upstream_response_ms);
  } else if (!connectUpstream()) {
    return;
  }
  upstream_->send(exchange_.upstream_head);
  setUpstreamReading(client_pending_bytes_ < kHighWater);
}

// addCertificateEncodings fills the base64 DER of the client certificate
// and its intermediates, which only the RFC 9440 headers need; they are
// made on first use so idle connections do not carry them.
void ClientConnection::addCertificateEncodings() {
  if (!identity_.cert_base64.empty()) {
    return;
  }
  bssl::UniquePtr<X509> cert(SSL_get_peer_certificate(tls_.ssl()));
  if (!cert) {
    return;
  }
  identity_.cert_base64 = tls::base64Der(cert.get());
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(tls_.ssl());
  for (size_t i = 0; chain != nullptr && i < sk_X509_num(chain); i++) {
    X509* member = sk_X509_value(chain, i);
    if (X509_cmp(member, cert.get()) != 0) {
      identity_.chain_base64.push_back(tls::base64Der(member));
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
  upstream_->send(std::move(pending));
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
  exchange_ = Exchange{};
  if (close_after_exchange_ || eof_ || server_->draining()) {
    closeAfterFlush(true);
    return;
  }
  parser_.resume();
  parser_paused_ = false;
  if (input_.empty()) {
    input_.shrink_to_fit();  // an idle connection keeps no read capacity
  }
  armTimer(runtime_->config.timeouts.idle_ms);
}

void ClientConnection::logExchange(const char* outcome) {
  exchange_.logged = true;
  const std::string& decision = exchange_.decision.empty() ? "bad_request" : exchange_.decision;
  std::string route = exchange_.route != nullptr ? exchange_.route->pattern() : "-";
  server_->recordRequest(route, decision, exchange_.status, secondsSince(exchange_.started));
  server_->recordIdentity(identity_, decision);
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
}

void ClientConnection::onUpstreamData(UpstreamLink* link, std::string_view data) {
  if (link != upstream_) {
    return;
  }
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
  armUpstreamTimer(runtime_->config.timeouts.upstream_response_ms);
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
    return;
  }
  if (!rest.empty()) {
    log::warn("upstream.unexpected_data", {{"conn", id_}, {"address", link->address}});
  }
  if (rest.empty() && upstream_keep_alive_ && exchange_.request_complete) {
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
    // Only an upgrade request may be answered with 101.
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
    metrics::registry().observe("certgate_upstream_duration_seconds",
                                {{"upstream", exchange_.route->upstream}},
                                secondsSince(exchange_.started));
  }
  bool close = !exchange_.keep_alive || close_after_exchange_ || server_->draining();
  bool is_head = exchange_.method == "HEAD";
  exchange_.status = head.status;
  exchange_.response_started = true;
  std::string out = http::buildClientResponseHead(head, is_head, exchange_.version_minor, close,
                                                  &exchange_.framing);
  if (close || exchange_.framing == http::ResponseFraming::UntilClose) {
    close_after_exchange_ = true;
  }
  upstream_keep_alive_ = head.keep_alive;
  sendPlaintext(out);
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

// --- Writing and closing --------------------------------------------------------

void ClientConnection::sendPlaintext(std::string_view data) {
  if (state_ != State::Open || data.empty()) {
    return;
  }
  if (!tls_.write(data)) {
    log::info("conn.tls_error", {{"conn", id_}, {"tls_err", errorText(tls_.errorCode())}});
    closeNow();
    return;
  }
  writeRaw(tls_.takeOutput());
}

void ClientConnection::writeRaw(std::string data) {
  if (data.empty() || state_ == State::Closed) {
    return;
  }
  size_t len = data.size();
  int rc = WriteRequest::start(reinterpret_cast<uv_stream_t*>(&tcp_), std::move(data), onWrite);
  if (rc != 0) {
    log::debug("conn.write_failed", {{"conn", id_}, {"error", uv_strerror(rc)}});
    closeNow();
    return;
  }
  client_pending_bytes_ += len;
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
      self->closeNow();
    }
    return;
  }
  if (self->exchange_.active) {
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
  if (send_close_notify && state_ == State::Open) {
    tls_.shutdown();
    writeRaw(tls_.takeOutput());
    if (state_ == State::Closed) {
      return;
    }
  }
  state_ = State::Closing;
  detachUpstream();
  updateClientReading();
  if (client_pending_bytes_ == 0) {
    closeNow();
    return;
  }
  armTimer(kFlushTimeoutMs);
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
  detachUpstream();
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
      } else if (self->exchange_.active) {
        log::info("conn.send_timeout",
                  {{"conn", self->id_}, {"peer", self->peer_}, {"cn", self->identity_.cn}});
        self->closeNow();
      } else if (self->parser_.inMessage()) {
        log::info("http.header_timeout",
                  {{"conn", self->id_}, {"peer", self->peer_}, {"cn", self->identity_.cn}});
        self->exchange_ = Exchange{};
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
