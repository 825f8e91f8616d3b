// HTTP responses of the demo service as values, and their HTTP/1.1 wire form.
// Nothing here does I/O: the connection decides when each part is written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "upstream_demo/request.h"

namespace demo {

// The source and framing of a response body.
enum class BodyKind {
  // Response::body, sent with Content-Length.
  Fixed,
  // Response::chunks, one HTTP chunk each with Transfer-Encoding: chunked.
  // HTTP/1.0 clients cannot decode chunked bodies, so they get the chunks
  // joined, with Content-Length.
  Chunks,
  // Response::patternLen bytes from patternPiece(), sent with Content-Length
  // and produced piece by piece as the client reads.
  Pattern,
  // The request body, copied back by the connection as it arrives.
  Echo,
};

// One response before serialization. Only the field named by bodyKind
// carries the body.
struct Response {
  int status = 200;
  std::string contentType;
  // Headers besides Content-Type, framing and Connection, such as Allow.
  std::vector<Header> extraHeaders;
  BodyKind bodyKind = BodyKind::Fixed;
  std::string body;
  std::vector<std::string> chunks;
  uint64_t patternLen = 0;
};

// The body framing stated in a response head.
struct Framing {
  bool chunked = false;
  // Content-Length value, used when chunked is false.
  uint64_t contentLen = 0;
};

// The Connection header a response carries, if any.
enum class ConnectionHeader { None, KeepAlive, Close };

// Returns a Fixed response with a text/plain body.
Response makeTextResponse(int status, std::string body);

// Returns the RFC 9110 reason phrase for |status|, or "Unknown" for a code
// this service never sends.
std::string_view reasonPhrase(int status);

// Serializes the status line and header section of |response|, including
// the empty line that ends it.
std::string serializeHead(const Response& response, Framing framing, ConnectionHeader connection);

// Encodes |data| as one chunk of a chunked body: size in hex, CRLF, data,
// CRLF (RFC 9112 section 7.1). |data| must not be empty, because a chunk of
// size zero ends the body.
std::string encodeChunk(std::string_view data);

// The last chunk with an empty trailer section, which ends a chunked body.
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// The /bytes pattern: the byte at offset i is i % kPatternPeriod. A prime
// period makes a dropped or repeated piece of any power-of-two size change
// the data.
inline constexpr uint64_t kPatternPeriod = 251;
inline constexpr size_t kPatternPieceLen = 64 * 1024;

// Returns the pattern bytes from |offset| on, at most kPatternPieceLen and
// at most |maxLen| of them. The view points into static storage that lives
// as long as the program, so it can be written without copying.
std::string_view patternPiece(uint64_t offset, uint64_t maxLen);

}  // namespace demo
