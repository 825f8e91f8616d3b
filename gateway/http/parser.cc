#include "gateway/http/parser.h"

#include <cstring>

#include <llhttp.h>

#include "gateway/common/ascii.h"

namespace gw::http {

struct Parser::Impl {
  llhttp_t parser;
  llhttp_settings_t settings;
  ParserHandler* handler;
  MessageKind kind;
  size_t max_header_bytes;
  size_t header_bytes = 0;
  MessageHead head;
  std::string field;
  std::string value;
  bool in_value = false;
  // The current feed() buffer, and the end of the last header name or
  // value piece within it (null before the first). See onHeaderValue.
  const char* feed_begin = nullptr;
  const char* piece_end = nullptr;
  // A CR or LF followed the last value piece at the end of the previous
  // buffer: more value in the next buffer is an obs-fold.
  bool line_break_pending = false;
  bool in_trailers = false;
  std::vector<Header> trailers;         // trailer fields of a chunked message
  const char* handler_error = nullptr;  // our reason for an HPE_USER stop
  bool upgrading = false;
  Parser* owner;
};

struct ParserCallbacks {
  static Parser::Impl& impl(llhttp_t* p) { return *static_cast<Parser::Impl*>(p->data); }

  // countHeaderBytes enforces the limit on the whole head (start line and
  // header fields together).
  static int countHeaderBytes(Parser::Impl& s, size_t len) {
    s.header_bytes += len;
    if (s.header_bytes > s.max_header_bytes) {
      s.owner->header_too_large_ = true;
      s.handler_error = "header section too large";
      return HPE_USER;
    }
    return HPE_OK;
  }

  // flushHeader stores the header collected so far; it returns false if
  // the name is not a valid token.
  static bool flushHeader(Parser::Impl& s) {
    if (s.in_value || !s.field.empty()) {
      if (s.field.empty()) {
        s.handler_error = "empty header name";
        return false;
      }
      // llhttp 8.1 lets whitespace before the colon through, which would
      // make "X-Forwarded-For :" a different name than the one filtered.
      for (char c : s.field) {
        if (!ascii::isTokenChar(c)) {
          s.handler_error = "invalid character in header name";
          return false;
        }
      }
      if (s.in_trailers) {
        s.trailers.push_back(Header{std::move(s.field), std::move(s.value)});
      } else {
        s.head.headers.push_back(Header{std::move(s.field), std::move(s.value)});
      }
      s.field.clear();
      s.value.clear();
      s.in_value = false;
    }
    return true;
  }

  // resetHead clears |head| for the next message. The header list and the
  // target keep their capacity, because every message on a kept-alive
  // connection fills them again.
  static void resetHead(MessageHead& head) {
    std::vector<Header> headers = std::move(head.headers);
    std::string target = std::move(head.target);
    headers.clear();
    target.clear();
    head = MessageHead{};
    head.headers = std::move(headers);
    head.target = std::move(target);
  }

  static int onMessageBegin(llhttp_t* p) {
    Parser::Impl& s = impl(p);
    resetHead(s.head);
    s.header_bytes = 0;
    s.in_trailers = false;
    s.trailers.clear();
    s.field.clear();
    s.value.clear();
    s.in_value = false;
    s.owner->in_message_ = true;
    // The start line's separators and line end count against the limit.
    s.header_bytes = 12;
    return HPE_OK;
  }

  static int onUrl(llhttp_t* p, const char* at, size_t len) {
    Parser::Impl& s = impl(p);
    s.head.target.append(at, len);
    int result = countHeaderBytes(s, len);
    s.owner->target_too_long_ = result != HPE_OK;
    return result;
  }

  static int onStatus(llhttp_t* p, const char* at, size_t len) {
    Parser::Impl& s = impl(p);
    s.head.reason.append(at, len);
    return countHeaderBytes(s, len);
  }

  static int onHeaderField(llhttp_t* p, const char* at, size_t len) {
    Parser::Impl& s = impl(p);
    s.line_break_pending = false;
    s.piece_end = at + len;
    if (s.in_value) {
      if (!flushHeader(s)) {
        return HPE_USER;
      }
    }
    if (s.field.empty()) {
      // ": " and CRLF around each header line count against the limit too.
      s.header_bytes += 4;
    }
    s.field.append(at, len);
    return countHeaderBytes(s, len);
  }

  static int onHeaderValue(llhttp_t* p, const char* at, size_t len) {
    Parser::Impl& s = impl(p);
    // llhttp 8.1 accepts obs-fold: it skips the CRLF and the whitespace of
    // a continuation line and reports the rest as more value. The bytes it
    // skipped since the header name or the last value piece then contain a
    // CR or LF. RFC 9112 lets a server reject obs-fold with 400, and it is
    // one of the ways to make two parsers read a header differently.
    // An empty value comes as one empty piece placed after its line end.
    const char* skipped = s.piece_end != nullptr ? s.piece_end : s.feed_begin;
    if (len > 0 && (s.line_break_pending ||
                    (std::memchr(skipped, '\r', static_cast<size_t>(at - skipped)) != nullptr ||
                     std::memchr(skipped, '\n', static_cast<size_t>(at - skipped)) != nullptr))) {
      s.handler_error = "obs-fold (a header value continued on the next line)";
      return HPE_USER;
    }
    if (len > 0) {
      s.line_break_pending = false;
      s.piece_end = at + len;
    }
    s.in_value = true;
    s.value.append(at, len);
    return countHeaderBytes(s, len);
  }

  static int onHeadersComplete(llhttp_t* p) {
    Parser::Impl& s = impl(p);
    s.line_break_pending = false;
    if (!flushHeader(s)) {
      return -1;
    }
    s.in_trailers = true;
    MessageHead& head = s.head;
    head.version_major = p->http_major;
    head.version_minor = p->http_minor;
    if (s.kind == MessageKind::Request) {
      head.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
    } else {
      head.status = p->status_code;
    }
    head.chunked = (p->flags & F_CHUNKED) != 0;
    head.has_content_length = (p->flags & F_CONTENT_LENGTH) != 0;
    head.content_length = head.has_content_length ? p->content_length : 0;
    head.keep_alive = llhttp_should_keep_alive(p) != 0;
    head.upgrade = p->upgrade != 0;
    switch (s.handler->onHead(head)) {
      case HeadAction::Continue:
        // RFC 9112, section 6.3: 1xx, 204 and 304 responses end with their
        // header section, even when they carry a Content-Length.
        return s.kind == MessageKind::Response &&
                       (head.status < 200 || head.status == 204 || head.status == 304)
                   ? 1
                   : 0;
      case HeadAction::SkipBody:
        return 1;
      case HeadAction::Upgrade:
        s.upgrading = true;
        return 2;
      case HeadAction::Reject:
        s.handler_error = "rejected by handler";
        return -1;
    }
    return -1;
  }

  static int onBody(llhttp_t* p, const char* at, size_t len) {
    impl(p).handler->onBody(std::string_view(at, len));
    return HPE_OK;
  }

  static int onMessageComplete(llhttp_t* p) {
    Parser::Impl& s = impl(p);
    if (!flushHeader(s)) {  // the last trailer field, if any
      return HPE_USER;
    }
    s.owner->in_message_ = false;
    s.handler->onMessageComplete();
    // After an upgrade llhttp stops by itself with HPE_PAUSED_UPGRADE.
    return s.upgrading ? HPE_OK : HPE_PAUSED;
  }
};

Parser::Parser(MessageKind kind, ParserHandler* handler, size_t max_header_bytes)
    : impl_(std::make_unique<Impl>()) {
  llhttp_settings_init(&impl_->settings);
  impl_->settings.on_message_begin = ParserCallbacks::onMessageBegin;
  impl_->settings.on_url = ParserCallbacks::onUrl;
  impl_->settings.on_status = ParserCallbacks::onStatus;
  impl_->settings.on_header_field = ParserCallbacks::onHeaderField;
  impl_->settings.on_header_value = ParserCallbacks::onHeaderValue;
  impl_->settings.on_headers_complete = ParserCallbacks::onHeadersComplete;
  impl_->settings.on_body = ParserCallbacks::onBody;
  impl_->settings.on_message_complete = ParserCallbacks::onMessageComplete;
  llhttp_init(&impl_->parser, kind == MessageKind::Request ? HTTP_REQUEST : HTTP_RESPONSE,
              &impl_->settings);
  impl_->parser.data = impl_.get();
  impl_->handler = handler;
  impl_->kind = kind;
  impl_->max_header_bytes = max_header_bytes;
  impl_->owner = this;
}

Parser::~Parser() = default;

FeedResult Parser::feed(std::string_view data) {
  if (data.empty()) {
    return {ParseStatus::Ok, 0};
  }
  impl_->feed_begin = data.data();
  impl_->piece_end = nullptr;
  llhttp_errno_t err = llhttp_execute(&impl_->parser, data.data(), data.size());
  if (err == HPE_OK) {
    if (impl_->in_value || !impl_->field.empty()) {
      // The buffer ended inside the header section after a name or value:
      // note whether its line already ended, for onHeaderValue.
      const char* from = impl_->piece_end != nullptr ? impl_->piece_end : data.data();
      size_t rest = static_cast<size_t>(data.data() + data.size() - from);
      impl_->line_break_pending = impl_->line_break_pending ||
                                  std::memchr(from, '\r', rest) != nullptr ||
                                  std::memchr(from, '\n', rest) != nullptr;
    }
    return {ParseStatus::Ok, data.size()};
  }
  const char* stop = llhttp_get_error_pos(&impl_->parser);
  size_t used = stop != nullptr ? static_cast<size_t>(stop - data.data()) : data.size();
  if (err == HPE_PAUSED) {
    return {ParseStatus::Paused, used};
  }
  if (err == HPE_PAUSED_UPGRADE) {
    return {ParseStatus::Upgrade, used};
  }
  const char* reason = impl_->handler_error != nullptr ? impl_->handler_error
                                                       : llhttp_get_error_reason(&impl_->parser);
  error_reason_ = reason != nullptr ? reason : llhttp_errno_name(err);
  return {ParseStatus::Error, used};
}

void Parser::resume() {
  llhttp_resume(&impl_->parser);
}

void Parser::setHandler(ParserHandler* handler) {
  impl_->handler = handler;
}

const std::vector<Header>& Parser::trailers() const {
  return impl_->trailers;
}

ParseStatus Parser::finish() {
  llhttp_errno_t err = llhttp_finish(&impl_->parser);
  if (err == HPE_OK || err == HPE_PAUSED) {
    return ParseStatus::Ok;
  }
  const char* reason = llhttp_get_error_reason(&impl_->parser);
  error_reason_ = reason != nullptr ? reason : llhttp_errno_name(err);
  return ParseStatus::Error;
}

}  // namespace gw::http
