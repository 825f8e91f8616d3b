// One accepted client connection of the demo service: HTTP/1.1 with
// keep-alive and pipelining, with responses sent in request order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <uv.h>

#include "upstream_demo/request_parser.h"
#include "upstream_demo/response.h"

namespace demo {

class Server;

// Output bytes passed to uv_write() whose write callbacks have not run yet:
// at kHighWatermark the connection stops reading requests and producing
// /bytes output, and at kLowWatermark it starts again.
inline constexpr size_t kHighWatermark = 1024 * 1024;
inline constexpr size_t kLowWatermark = 256 * 1024;
// Largest /echo body buffered for an HTTP/1.0 client, which cannot receive
// a chunked response. A larger one is rejected with 413.
inline constexpr size_t kMaxBufferedEchoLen = 16 * 1024 * 1024;
// How long a connection keeps reading and discarding input after it sent
// its last response and a FIN, so that unread input does not make the
// kernel reset the connection before the client has read that response.
inline constexpr uint64_t kLingerTimeoutMs = 2000;

// Connection parses requests from one TCP stream, responds to each in order and
// ends the stream when the client or an error requires it.
//
// Only one response is in progress at a time: the parser stops after every
// request and continues once that response is fully queued and the output
// is below kHighWatermark. Input read meanwhile waits in pending_, and
// reading stops, so a client that does not read its responses stops being
// read as well.
//
// NOTE: there is no idle timeout, so a client can hold a connection open
// for as long as it likes.
//
// The libuv and llhttp callbacks are noexcept, so an exception thrown below
// them, in practice std::bad_alloc, ends the process instead of unwinding
// through C frames.
//
// Lifetime: a Connection deletes itself in the close callback of its TCP
// handle. close() only starts closing, so no callback deletes the object
// while its own stack still uses it, and the write and shutdown callbacks
// that libuv cancels with UV_ECANCELED during the close, which run before
// the close callback, still find it.
class Connection final : private RequestHandler {
 public:
  // Takes ownership of |tcp|, an initialized handle that accepted a client.
  // |server| is borrowed and must outlive the connection. Call start() next.
  Connection(Server& server, uv_tcp_t* tcp, uint64_t id);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Starts reading requests. On failure the connection closes itself.
  void start();

  // Starts closing the connection at once, dropping unsent output. Does
  // nothing if it is already closing.
  void close();

 private:
  // One uv_write and the bytes it sends, owned by libuv until onWrite runs.
  struct WriteRequest {
    uv_write_t req;
    // Owned output. Empty when the bytes are static pattern data.
    std::string storage;
    size_t len = 0;
  };

  enum class EchoMode { Off, Streaming, Buffering };

  ~Connection();

  static void onAlloc(uv_handle_t* handle, size_t suggestedLen, uv_buf_t* buf) noexcept;
  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void onWrite(uv_write_t* req, int status) noexcept;
  static void onShutdown(uv_shutdown_t* req, int status) noexcept;
  static void onClose(uv_handle_t* handle) noexcept;
  static void onLingerTimeout(uv_timer_t* timer) noexcept;

  // RequestHandler, called from inside parser_.parse().
  void onRequestHead(const RequestHead& head) override;
  bool onRequestBody(std::string_view data) override;
  void onRequestComplete() override;

  // Input.
  void handleData(std::string_view data);
  void handleEof();
  void handleInputEnd();
  void feed(std::string_view input);
  void resumeParsing();
  bool mustPause() const;
  void updateReading();

  // Responses.
  void sendResponse();
  void sendPatternPieces();
  void rejectRequest(const ParseResult& result);
  std::string serializeResponseHead(Framing framing) const;
  ConnectionHeader connectionHeader() const;
  void logRequest(int status) const;

  // Output.
  void write(std::string bytes);
  // Writes |bytes| without copying them, so they must be in static storage.
  void writeStatic(std::string_view bytes);
  void queueWrite(std::unique_ptr<WriteRequest> request, std::string_view bytes);
  void handleWriteDone(size_t len, int status);
  void finishIfDone();
  void startLinger();
  void closeOnError(std::string_view operation, int error);

  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(tcp_); }

  Server& server_;
  uv_tcp_t* tcp_;                      // Owned; freed by the destructor, which runs in onClose.
  uv_timer_t* lingerTimer_ = nullptr;  // Owned while lingering.
  const uint64_t id_;
  RequestParser parser_{*this};
  std::unique_ptr<char[]> readBuffer_;

  // Input unparsed because parsing is paused between two requests.
  std::string pending_;
  bool reading_ = false;
  bool paused_ = false;
  bool peerEof_ = false;
  // Set once no further request will be parsed. The connection then sends a
  // FIN after the queued output and lingers.
  bool noMoreRequests_ = false;
  bool shutdownStarted_ = false;
  bool lingering_ = false;
  bool closing_ = false;

  // The response to the request being parsed or produced.
  Response response_;
  bool isHeadRequest_ = false;
  // Streaming from the head of an /echo request until its end, when the
  // response has started but is incomplete.
  EchoMode echoMode_ = EchoMode::Off;
  std::string echoBuffer_;
  // /bytes progress: the next pattern offset to write and the body length.
  uint64_t patternOffset_ = 0;
  uint64_t patternEnd_ = 0;

  size_t inFlightBytes_ = 0;
  bool overWatermark_ = false;
};

}  // namespace demo
