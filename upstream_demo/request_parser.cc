#include "upstream_demo/request_parser.h"

namespace demo {
namespace {

// Bytes a header field adds to the header section besides its name and
// value: ": " and CRLF.
constexpr size_t kFieldOverheadLen = 4;

RequestParser& owner(llhttp_t* parser) {
  return *static_cast<RequestParser*>(parser->data);
}

void trimTrailingWhitespace(std::string& value) {
  size_t end = value.find_last_not_of(" \t");
  value.erase(end == std::string::npos ? 0 : end + 1);
}

}  // namespace

RequestParser::RequestParser(RequestHandler& handler) : handler_(handler) {
  llhttp_init(&parser_, HTTP_REQUEST, &settings());
  parser_.data = this;
}

const llhttp_settings_t& RequestParser::settings() {
  static const llhttp_settings_t kSettings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = onMessageBegin;
    s.on_url = onUrl;
    s.on_header_field = onHeaderField;
    s.on_header_value = onHeaderValue;
    s.on_header_value_complete = onHeaderValueComplete;
    s.on_headers_complete = onHeadersComplete;
    s.on_body = onBody;
    s.on_message_complete = onMessageComplete;
    return s;
  }();
  return kSettings;
}

ParseResult RequestParser::parse(std::string_view data) {
  ParseResult result;
  llhttp_errno_t status = llhttp_execute(&parser_, data.data(), data.size());

  if (status == HPE_OK) {
    result.consumedLen = data.size();
    return result;
  }
  // onMessageComplete pauses after every request.
  if (status == HPE_PAUSED) {
    result.outcome = ParseOutcome::RequestComplete;
    result.consumedLen = static_cast<size_t>(llhttp_get_error_pos(&parser_) - data.data());
    llhttp_resume(&parser_);
    return result;
  }
  // llhttp returns HPE_PAUSED_UPGRADE when parsing continues after a
  // CONNECT or Upgrade request. This service never switches protocols, and
  // such a request's head has keepAlive false, so Connection parses nothing
  // after it.
  if (status == HPE_PAUSED_UPGRADE) {
    result.outcome = ParseOutcome::Invalid;
    result.errorStatus = 400;
    result.errorReason = "input after a protocol upgrade request";
    return result;
  }

  result.outcome = ParseOutcome::Invalid;
  if (status == HPE_USER) {
    result.errorStatus = errorStatus_;
    result.errorReason = errorReason_;
  } else {
    result.errorStatus = 400;
    result.errorReason = llhttp_errno_name(status);
  }
  return result;
}

int RequestParser::fail(int status, std::string_view reason) {
  errorStatus_ = status;
  errorReason_ = reason;
  return HPE_USER;
}

int RequestParser::addHeaderBytes(std::string& to, const char* at, size_t len) {
  if (inTrailers_) {
    return HPE_OK;  // Trailer fields are not kept.
  }
  headerSectionLen_ += len;
  if (headerSectionLen_ > kMaxHeaderSectionLen) {
    return fail(431, "header section too large");
  }
  to.append(at, len);
  return HPE_OK;
}

int RequestParser::onMessageBegin(llhttp_t* parser) noexcept {
  RequestParser& self = owner(parser);
  self.head_ = RequestHead();
  self.field_.clear();
  self.value_.clear();
  self.headerSectionLen_ = 0;
  self.inRequest_ = true;
  self.inTrailers_ = false;
  return HPE_OK;
}

int RequestParser::onUrl(llhttp_t* parser, const char* at, size_t len) noexcept {
  RequestParser& self = owner(parser);
  // llhttp has parsed the method by now; storing it here lets a request
  // rejected before its header section ends still be logged with it.
  self.head_.method = llhttp_method_name(static_cast<llhttp_method_t>(parser->method));
  if (self.head_.target.size() + len > kMaxTargetLen) {
    return self.fail(414, "request target too long");
  }
  self.head_.target.append(at, len);
  return HPE_OK;
}

int RequestParser::onHeaderField(llhttp_t* parser, const char* at, size_t len) noexcept {
  RequestParser& self = owner(parser);
  return self.addHeaderBytes(self.field_, at, len);
}

int RequestParser::onHeaderValue(llhttp_t* parser, const char* at, size_t len) noexcept {
  RequestParser& self = owner(parser);
  return self.addHeaderBytes(self.value_, at, len);
}

int RequestParser::onHeaderValueComplete(llhttp_t* parser) noexcept {
  RequestParser& self = owner(parser);
  if (self.inTrailers_) {
    return HPE_OK;
  }

  self.headerSectionLen_ += kFieldOverheadLen;
  if (self.headerSectionLen_ > kMaxHeaderSectionLen) {
    return self.fail(431, "header section too large");
  }
  // llhttp skips whitespace before a value but keeps it after.
  trimTrailingWhitespace(self.value_);
  self.head_.headers.push_back({std::move(self.field_), std::move(self.value_)});
  self.field_.clear();
  self.value_.clear();
  return HPE_OK;
}

int RequestParser::onHeadersComplete(llhttp_t* parser) noexcept {
  RequestParser& self = owner(parser);
  RequestHead& head = self.head_;
  head.method = llhttp_method_name(static_cast<llhttp_method_t>(parser->method));
  head.httpMajor = parser->http_major;
  head.httpMinor = parser->http_minor;
  // After a CONNECT or Upgrade request the client may send another
  // protocol, so the connection ends with the response.
  head.keepAlive = llhttp_should_keep_alive(parser) != 0 && parser->upgrade == 0;
  self.inTrailers_ = true;

  self.handler_.onRequestHead(head);
  return HPE_OK;
}

int RequestParser::onBody(llhttp_t* parser, const char* at, size_t len) noexcept {
  RequestParser& self = owner(parser);
  if (!self.handler_.onRequestBody(std::string_view(at, len))) {
    return self.fail(413, "request body too large");
  }
  return HPE_OK;
}

int RequestParser::onMessageComplete(llhttp_t* parser) noexcept {
  RequestParser& self = owner(parser);
  self.inRequest_ = false;
  self.handler_.onRequestComplete();
  return HPE_PAUSED;
}

}  // namespace demo
