// HTTP/1.1 request text and response parsing (llhttp) for the load modes.
#pragma once

#include <string>
#include <string_view>

#include <llhttp.h>

namespace bench {

// Returns "GET |path| HTTP/1.1" with Host, and Connection: close unless
// |keep_alive|.
std::string buildGetRequest(std::string_view path, std::string_view host, bool keep_alive);

enum class ParseStatus {
  Incomplete,  // more bytes are needed
  Complete,    // one whole response was read
  Invalid,     // not a valid response, or bytes after its end; error() says which
};

// Parses one response at a time. reset() prepares for the next response on
// the same connection.
class ResponseParser {
 public:
  ResponseParser();
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  void reset();

  // Consumes |data|. A response must end exactly at the end of the data,
  // because the client never pipelines requests.
  ParseStatus feed(std::string_view data);

  // Ends the response at end of stream, for bodies delimited by the close.
  ParseStatus finish();

  int status() const { return status_; }

  // Returns whether the server keeps the connection open after this response.
  bool keepAlive() const { return keep_alive_; }
  bool started() const { return started_; }
  const std::string& error() const { return error_; }

 private:
  static int onMessageBegin(llhttp_t* parser);
  static int onMessageComplete(llhttp_t* parser);
  ParseStatus check(llhttp_errno_t err);

  llhttp_settings_t settings_;
  llhttp_t parser_;
  bool started_ = false;
  bool complete_ = false;
  bool keep_alive_ = false;
  int status_ = 0;
  std::string error_;
};

}  // namespace bench
