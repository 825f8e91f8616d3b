#include "bench/http_client.h"

namespace bench {

std::string buildGetRequest(std::string_view path, std::string_view host, bool keep_alive) {
  std::string request;
  request.reserve(128);
  request.append("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(host);
  request.append("\r\nUser-Agent: certgate-bench\r\nAccept: */*\r\n");
  if (!keep_alive) {
    request.append("Connection: close\r\n");
  }
  request.append("\r\n");
  return request;
}

ResponseParser::ResponseParser() {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = &ResponseParser::onMessageBegin;
  settings_.on_message_complete = &ResponseParser::onMessageComplete;
  reset();
}

void ResponseParser::reset() {
  llhttp_init(&parser_, HTTP_RESPONSE, &settings_);
  parser_.data = this;
  started_ = false;
  complete_ = false;
  keep_alive_ = false;
  status_ = 0;
  error_.clear();
}

int ResponseParser::onMessageBegin(llhttp_t* parser) {
  static_cast<ResponseParser*>(parser->data)->started_ = true;
  return 0;
}

int ResponseParser::onMessageComplete(llhttp_t* parser) {
  auto* self = static_cast<ResponseParser*>(parser->data);
  self->complete_ = true;
  self->status_ = llhttp_get_status_code(parser);
  self->keep_alive_ = llhttp_should_keep_alive(parser) != 0;
  // Pausing makes llhttp_execute stop here, so bytes after the response
  // are detected instead of being parsed as the next one.
  return HPE_PAUSED;
}

ParseStatus ResponseParser::check(llhttp_errno_t err) {
  if (err == HPE_OK) {
    return complete_ ? ParseStatus::Complete : ParseStatus::Incomplete;
  }
  if (err == HPE_PAUSED && complete_) {
    return ParseStatus::Complete;
  }
  error_ = std::string("invalid response: ") + llhttp_errno_name(err) + " (" +
           llhttp_get_error_reason(&parser_) + ")";
  return ParseStatus::Invalid;
}

ParseStatus ResponseParser::feed(std::string_view data) {
  if (complete_) {
    error_ = "data after the end of the response";
    return data.empty() ? ParseStatus::Complete : ParseStatus::Invalid;
  }
  ParseStatus status = check(llhttp_execute(&parser_, data.data(), data.size()));
  if (status == ParseStatus::Complete) {
    const char* end = llhttp_get_error_pos(&parser_);
    if (end != nullptr && end != data.data() + data.size()) {
      error_ = "data after the end of the response";
      return ParseStatus::Invalid;
    }
  }
  return status;
}

ParseStatus ResponseParser::finish() {
  if (complete_) {
    return ParseStatus::Complete;
  }
  if (!started_) {
    error_ = "connection closed before the response started";
    return ParseStatus::Invalid;
  }
  ParseStatus status = check(llhttp_finish(&parser_));
  if (status == ParseStatus::Incomplete) {
    error_ = "connection closed before the response was complete";
    return ParseStatus::Invalid;
  }
  return status;
}

}  // namespace bench
