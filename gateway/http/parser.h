// An incremental HTTP/1.1 parser over llhttp, in its default strict mode.
//
// Bytes go in through feed(); the head, body pieces and end of each message
// come out through a ParserHandler. The parser pauses after every complete
// message so that the caller can finish one exchange before the next
// pipelined request is parsed. feed() then reports how many bytes it used,
// and the caller keeps the rest and calls resume() before feeding them.
//
// NOTE: llhttp 8.1 (Debian 12) accepts a bare LF after the start line and
// as the empty line ending the head, any two bytes after chunk data in
// place of CRLF, and obs-fold lines; the parser rejects obs-fold itself
// (see onHeaderValue in parser.cc). The gateway
// re-serializes every head and re-chunks every body, so the upstream only
// ever receives well-formed framing; header names are checked here because
// llhttp lets "Name :" through.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/http/message.h"

namespace gw::http {

// HeadAction is a handler's reply to a complete head.
enum class HeadAction {
  Continue,  // parse the body as the head describes it
  SkipBody,  // the message has no body (a response to HEAD)
  Upgrade,   // stop parsing: the rest is another protocol
  Reject,    // stop with an error
};

class ParserHandler {
 public:
  virtual ~ParserHandler() = default;
  virtual HeadAction onHead(MessageHead& head) = 0;
  virtual void onBody(std::string_view data) = 0;
  virtual void onMessageComplete() = 0;
};

enum class ParseStatus {
  Ok,       // all bytes used, waiting for more
  Paused,   // a message completed; bytes after it were not used
  Upgrade,  // the head asked for an upgrade; bytes after it were not used
  Error,    // the input is not valid HTTP/1.1; see errorReason()
};

struct FeedResult {
  ParseStatus status;
  size_t used;  // bytes consumed from the input
};

enum class MessageKind { Request, Response };

class Parser {
 public:
  Parser(MessageKind kind, ParserHandler* handler, size_t max_header_bytes);
  ~Parser();
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  FeedResult feed(std::string_view data);

  // setHandler directs the callbacks to |handler| from now on (an upstream
  // connection moving to another client connection).
  void setHandler(ParserHandler* handler);

  // resume continues after a Paused result.
  void resume();

  // finish reports to the parser that the peer closed the connection. It completes a
  // response whose body runs until the connection closes, and returns Error
  // if the connection closed in the middle of a message.
  ParseStatus finish();

  // trailers returns the trailer fields of the last chunked message, valid
  // from its onMessageComplete until the next message begins.
  const std::vector<Header>& trailers() const;

  // errorReason describes the last Error in a few words.
  const std::string& errorReason() const { return error_reason_; }

  // headerTooLarge reports whether the last Error was the header limit.
  bool headerTooLarge() const { return header_too_large_; }
  // targetTooLong reports whether the limit was reached within the request
  // target, which gets 414 rather than 431.
  bool targetTooLong() const { return target_too_long_; }

  // inMessage reports whether a message has started but not completed.
  bool inMessage() const { return in_message_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string error_reason_;
  bool header_too_large_ = false;
  bool target_too_long_ = false;
  bool in_message_ = false;
  friend struct ParserCallbacks;
};

}  // namespace gw::http
