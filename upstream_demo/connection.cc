#include "upstream_demo/connection.h"

#include <strings.h>
#include <utility>

#include "gateway/common/log.h"
#include "upstream_demo/routes.h"
#include "upstream_demo/server.h"
#include "upstream_demo/uv_handles.h"

namespace demo {
namespace {

constexpr size_t kReadBufferLen = 64 * 1024;
constexpr std::string_view kContinueResponse = "HTTP/1.1 100 Continue\r\n\r\n";

bool expectsContinue(const RequestHead& head) {
  const std::string* expect = head.findHeader("Expect");
  return head.isHttp11OrLater() && expect != nullptr &&
         strcasecmp(expect->c_str(), "100-continue") == 0;
}

}  // namespace

Connection::Connection(Server& server, uv_tcp_t* tcp, uint64_t id)
    : server_(server), tcp_(tcp), id_(id), readBuffer_(new char[kReadBufferLen]) {
  tcp_->data = this;
}

Connection::~Connection() {
  server_.forgetConnection(this);
  delete tcp_;
}

void Connection::start() {
  updateReading();
}

void Connection::close() {
  if (closing_) {
    return;
  }
  closing_ = true;
  reading_ = false;
  if (lingerTimer_ != nullptr) {
    closeAndDelete(lingerTimer_);
    lingerTimer_ = nullptr;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(tcp_), onClose);
}

void Connection::closeOnError(std::string_view operation, int error) {
  gw::log::debug("demo.connection_error",
                 {{"conn", id_}, {"operation", operation}, {"error", uv_err_name(error)}});
  close();
}

// --- libuv callbacks ---------------------------------------------------------

void Connection::onAlloc(uv_handle_t* handle, size_t /*suggestedLen*/, uv_buf_t* buf) noexcept {
  auto* self = static_cast<Connection*>(handle->data);
  *buf = uv_buf_init(self->readBuffer_.get(), static_cast<unsigned>(kReadBufferLen));
}

void Connection::onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* self = static_cast<Connection*>(stream->data);
  if (nread == UV_EOF) {
    self->handleEof();
  } else if (nread < 0) {
    self->closeOnError("read", static_cast<int>(nread));
  } else if (nread > 0) {
    self->handleData(std::string_view(buf->base, static_cast<size_t>(nread)));
  }
}

void Connection::onWrite(uv_write_t* req, int status) noexcept {
  std::unique_ptr<WriteRequest> request(static_cast<WriteRequest*>(req->data));
  auto* self = static_cast<Connection*>(req->handle->data);
  size_t len = request->len;
  request.reset();
  self->handleWriteDone(len, status);
}

void Connection::onShutdown(uv_shutdown_t* req, int status) noexcept {
  auto* self = static_cast<Connection*>(req->handle->data);
  delete req;
  if (self->closing_) {
    return;
  }
  if (status < 0) {
    self->closeOnError("shutdown", status);
  } else if (self->peerEof_) {
    self->close();
  } else {
    self->startLinger();
  }
}

void Connection::onClose(uv_handle_t* handle) noexcept {
  delete static_cast<Connection*>(handle->data);
}

void Connection::onLingerTimeout(uv_timer_t* timer) noexcept {
  auto* self = static_cast<Connection*>(timer->data);
  if (self != nullptr) {
    self->close();
  }
}

// --- Input -------------------------------------------------------------------

void Connection::handleData(std::string_view data) {
  if (closing_ || lingering_ || noMoreRequests_) {
    return;  // Input after the last request is discarded.
  }
  if (paused_) {
    // Reading stops whenever parsing pauses, so this only guards against a
    // read delivered anyway: the input waits for resumeParsing().
    pending_.append(data);
  } else {
    feed(data);
  }
  updateReading();
}

void Connection::handleEof() {
  peerEof_ = true;
  if (lingering_) {
    close();
    return;
  }
  // While paused, resumeParsing() handles the end of input after pending_.
  if (!paused_) {
    handleInputEnd();
  }
  updateReading();
}

// Handles the end of the client's input once all of it has been parsed.
void Connection::handleInputEnd() {
  if (echoMode_ == EchoMode::Streaming) {
    // An /echo body ended early, and a chunked response that was already
    // started cannot signal that except by closing without its last chunk.
    close();
    return;
  }
  noMoreRequests_ = true;
  finishIfDone();
}

// Parses |input| one request at a time until it is used up, parsing must
// pause, or no further request may follow.
void Connection::feed(std::string_view input) {
  while (!closing_ && !noMoreRequests_) {
    ParseResult result = parser_.parse(input);
    if (result.outcome == ParseOutcome::NeedMore) {
      return;
    }
    if (result.outcome == ParseOutcome::Invalid) {
      rejectRequest(result);
      return;
    }

    input.remove_prefix(result.consumedLen);
    if (!parser_.head().keepAlive) {
      noMoreRequests_ = true;
      finishIfDone();
      return;
    }
    if (mustPause()) {
      paused_ = true;
      pending_.assign(input);
      return;
    }
    if (input.empty()) {
      return;
    }
  }
}

void Connection::resumeParsing() {
  paused_ = false;
  std::string input = std::move(pending_);
  pending_.clear();
  feed(input);

  if (!paused_ && peerEof_ && !closing_) {
    handleInputEnd();
  }
}

bool Connection::mustPause() const {
  return patternOffset_ < patternEnd_ || overWatermark_;
}

void Connection::updateReading() {
  bool wanted =
      !closing_ && !peerEof_ && (lingering_ || (!paused_ && !noMoreRequests_ && !overWatermark_));
  if (wanted == reading_) {
    return;
  }

  int status = wanted ? uv_read_start(stream(), onAlloc, onRead) : uv_read_stop(stream());
  if (status < 0) {
    closeOnError(wanted ? "read_start" : "read_stop", status);
    return;
  }
  reading_ = wanted;
}

// --- Requests and responses --------------------------------------------------

void Connection::onRequestHead(const RequestHead& head) {
  response_ = routeRequest(head);
  isHeadRequest_ = head.method == "HEAD";
  echoMode_ = EchoMode::Off;
  echoBuffer_.clear();

  if (expectsContinue(head)) {
    writeStatic(kContinueResponse);
  }
  if (response_.bodyKind != BodyKind::Echo) {
    return;
  }
  // /echo streams the body back as it arrives, with Transfer-Encoding:
  // chunked, so memory does not grow with its size. HTTP/1.0 clients cannot
  // decode chunked responses, so for them the body is buffered, up to
  // kMaxBufferedEchoLen, and sent with Content-Length.
  if (head.isHttp11OrLater()) {
    echoMode_ = EchoMode::Streaming;
    Framing framing;
    framing.chunked = true;
    write(serializeResponseHead(framing));
    logRequest(response_.status);
  } else {
    echoMode_ = EchoMode::Buffering;
  }
}

bool Connection::onRequestBody(std::string_view data) {
  if (data.empty()) {
    return true;
  }
  if (echoMode_ == EchoMode::Streaming) {
    write(encodeChunk(data));
  } else if (echoMode_ == EchoMode::Buffering) {
    if (echoBuffer_.size() + data.size() > kMaxBufferedEchoLen) {
      return false;
    }
    echoBuffer_.append(data);
  }
  return true;  // Bodies of other routes are read and dropped.
}

void Connection::onRequestComplete() {
  if (echoMode_ == EchoMode::Streaming) {
    writeStatic(kLastChunk);
    echoMode_ = EchoMode::Off;
    return;
  }
  if (echoMode_ == EchoMode::Buffering) {
    response_.bodyKind = BodyKind::Fixed;
    response_.body = std::move(echoBuffer_);
    echoBuffer_.clear();
  }
  sendResponse();
}

void Connection::sendResponse() {
  Framing framing;
  std::string body;
  switch (response_.bodyKind) {
    case BodyKind::Fixed:
    case BodyKind::Echo:
      body = std::move(response_.body);
      framing.contentLen = body.size();
      break;
    case BodyKind::Chunks:
      framing.chunked = parser_.head().isHttp11OrLater();
      for (const std::string& chunk : response_.chunks) {
        body += framing.chunked ? encodeChunk(chunk) : chunk;
      }
      if (framing.chunked) {
        body += kLastChunk;
      }
      framing.contentLen = body.size();
      break;
    case BodyKind::Pattern:
      framing.contentLen = response_.patternLen;
      break;
  }

  std::string output = serializeResponseHead(framing);
  if (!isHeadRequest_) {
    output += body;
  }
  write(std::move(output));
  logRequest(response_.status);

  if (response_.bodyKind == BodyKind::Pattern && !isHeadRequest_) {
    patternOffset_ = 0;
    patternEnd_ = response_.patternLen;
    sendPatternPieces();
  }
}

// Writes /bytes pieces until the body is complete or the output reaches
// kHighWatermark; handleWriteDone() calls this again as the client reads.
void Connection::sendPatternPieces() {
  while (patternOffset_ < patternEnd_ && !overWatermark_ && !closing_) {
    std::string_view piece = patternPiece(patternOffset_, patternEnd_ - patternOffset_);
    writeStatic(piece);
    patternOffset_ += piece.size();
  }
}

// Sends the error response for a request that failed to parse or exceeded
// a limit, then ends the connection, because the rest of the input cannot be
// framed reliably.
void Connection::rejectRequest(const ParseResult& result) {
  gw::log::debug("demo.request_invalid",
                 {{"conn", id_}, {"status", result.errorStatus}, {"reason", result.errorReason}});
  if (echoMode_ == EchoMode::Streaming) {
    close();  // The response to this request has already started.
    return;
  }

  Response response =
      makeTextResponse(result.errorStatus, std::string(reasonPhrase(result.errorStatus)) + "\n");
  Framing framing;
  framing.contentLen = response.body.size();
  write(serializeHead(response, framing, ConnectionHeader::Close) + response.body);
  logRequest(result.errorStatus);

  noMoreRequests_ = true;
  finishIfDone();
}

std::string Connection::serializeResponseHead(Framing framing) const {
  return serializeHead(response_, framing, connectionHeader());
}

ConnectionHeader Connection::connectionHeader() const {
  const RequestHead& head = parser_.head();
  if (!head.keepAlive) {
    return ConnectionHeader::Close;
  }
  return head.isHttp11OrLater() ? ConnectionHeader::None : ConnectionHeader::KeepAlive;
}

// Logs one line per request, with cn "-" when X-Client-CN is absent. The
// logger quotes values and escapes quotes and C0 control characters, so a
// client-sent path or CN cannot add log lines.
// NOTE: gw::log::formatValue copies bytes from 0x80 up unchanged, so a CN
// containing UTF-8 C1 controls (U+0080 to U+009F) reaches the log raw.
void Connection::logRequest(int status) const {
  const RequestHead& head = parser_.head();
  const std::string* cn = head.findHeader("X-Client-CN");
  gw::log::info("demo.request", {{"conn", id_},
                                 {"method", head.method},
                                 {"path", head.target},
                                 {"status", status},
                                 {"cn", cn != nullptr ? std::string_view(*cn) : "-"}});
}

// --- Output ------------------------------------------------------------------

void Connection::write(std::string bytes) {
  auto request = std::make_unique<WriteRequest>();
  request->storage = std::move(bytes);
  std::string_view view = request->storage;
  queueWrite(std::move(request), view);
}

void Connection::writeStatic(std::string_view bytes) {
  queueWrite(std::make_unique<WriteRequest>(), bytes);
}

void Connection::queueWrite(std::unique_ptr<WriteRequest> request, std::string_view bytes) {
  if (closing_ || bytes.empty()) {
    return;
  }
  // The largest write is a buffered HTTP/1.0 /echo body of at most
  // kMaxBufferedEchoLen, far below the 4 GiB limit of uv_buf_t lengths.
  uv_buf_t buf = uv_buf_init(const_cast<char*>(bytes.data()), static_cast<unsigned>(bytes.size()));
  request->len = bytes.size();
  request->req.data = request.get();
  int status = uv_write(&request->req, stream(), &buf, 1, onWrite);
  if (status < 0) {
    closeOnError("write", status);
    return;
  }
  request.release();  // onWrite deletes it.

  inFlightBytes_ += bytes.size();
  if (inFlightBytes_ >= kHighWatermark) {
    overWatermark_ = true;
  }
}

void Connection::handleWriteDone(size_t len, int status) {
  inFlightBytes_ -= len;
  if (closing_) {
    return;
  }
  if (status < 0) {
    closeOnError("write", status);
    return;
  }
  if (overWatermark_ && inFlightBytes_ > kLowWatermark) {
    return;
  }
  overWatermark_ = false;

  sendPatternPieces();
  if (paused_ && !mustPause()) {
    resumeParsing();
  }
  finishIfDone();
  updateReading();
}

// Sends a FIN once no request follows and all output is queued; libuv
// performs the shutdown after the queued writes.
void Connection::finishIfDone() {
  if (!noMoreRequests_ || closing_ || shutdownStarted_ || patternOffset_ < patternEnd_) {
    return;
  }
  shutdownStarted_ = true;
  auto* req = new uv_shutdown_t;
  int status = uv_shutdown(req, stream(), onShutdown);
  if (status < 0) {
    delete req;
    closeOnError("shutdown", status);
  }
}

void Connection::startLinger() {
  lingering_ = true;
  lingerTimer_ = new uv_timer_t;
  uv_timer_init(tcp_->loop, lingerTimer_);
  lingerTimer_->data = this;
  uv_timer_start(lingerTimer_, onLingerTimeout, kLingerTimeoutMs, 0);
  updateReading();
}

}  // namespace demo
