// An incremental HTTP/1.1 request parser on top of llhttp. It takes byte
// spans, hands each request to a RequestHandler and stops after every
// complete request, so the caller can respond to pipelined requests in
// order.
// It does no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <llhttp.h>

#include "upstream_demo/request.h"

namespace demo {

// Longest request-target accepted. A longer one is rejected with 414.
inline constexpr size_t kMaxTargetLen = 8 * 1024;
// Largest header section accepted, counted as the bytes of every name and
// value plus 4 per field for ": " and CRLF. A larger one is rejected with 431.
inline constexpr size_t kMaxHeaderSectionLen = 16 * 1024;

// Receives the parts of each request. Calls arrive from inside
// RequestParser::parse(), in the order head, body pieces, complete.
class RequestHandler {
 public:
  virtual void onRequestHead(const RequestHead& head) = 0;
  // Receives the next piece of the decoded body, without chunk framing.
  // Returns false to reject the body, which makes parse() return Invalid
  // with status 413.
  virtual bool onRequestBody(std::string_view data) = 0;
  virtual void onRequestComplete() = 0;

 protected:
  ~RequestHandler() = default;
};

enum class ParseOutcome {
  // All input was parsed, and the current request, if any, is unfinished.
  NeedMore,
  // A request ended; input after consumedLen is not parsed yet.
  RequestComplete,
  // The input is not a valid request or exceeds a limit.
  Invalid,
};

struct ParseResult {
  ParseOutcome outcome = ParseOutcome::NeedMore;
  // Input bytes parsed by this call. Meaningful for RequestComplete only.
  size_t consumedLen = 0;
  // For Invalid: the response status (400, 413, 414 or 431) and a
  // short reason for the log.
  int errorStatus = 0;
  std::string_view errorReason;
};

class RequestParser {
 public:
  // |handler| is borrowed and must outlive the parser.
  explicit RequestParser(RequestHandler& handler);
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Parses |data| until it ends or a request completes, whichever comes
  // first. Once a call returns Invalid, every later call returns Invalid.
  ParseResult parse(std::string_view data);

  // True from the first byte of a request until the request is complete.
  bool inRequest() const { return inRequest_; }

  // The head of the current request, or of the last one between requests.
  // Before its header section is complete, fields may be empty or partial.
  const RequestHead& head() const { return head_; }

 private:
  static int onMessageBegin(llhttp_t* parser) noexcept;
  static int onUrl(llhttp_t* parser, const char* at, size_t len) noexcept;
  static int onHeaderField(llhttp_t* parser, const char* at, size_t len) noexcept;
  static int onHeaderValue(llhttp_t* parser, const char* at, size_t len) noexcept;
  static int onHeaderValueComplete(llhttp_t* parser) noexcept;
  static int onHeadersComplete(llhttp_t* parser) noexcept;
  static int onBody(llhttp_t* parser, const char* at, size_t len) noexcept;
  static int onMessageComplete(llhttp_t* parser) noexcept;
  static const llhttp_settings_t& settings();

  int fail(int status, std::string_view reason);
  int addHeaderBytes(std::string& to, const char* at, size_t len);

  llhttp_t parser_;
  RequestHandler& handler_;
  RequestHead head_;
  // Name and value of the header field being parsed. llhttp may deliver
  // each in several pieces.
  std::string field_;
  std::string value_;
  size_t headerSectionLen_ = 0;
  bool inRequest_ = false;
  // True after the header section, when field callbacks carry trailers.
  bool inTrailers_ = false;
  int errorStatus_ = 0;
  std::string_view errorReason_;
};

}  // namespace demo
