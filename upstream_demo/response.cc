#include "upstream_demo/response.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstdio>

namespace demo {
namespace {

// Pattern bytes for any starting offset: a piece starts at index
// offset % kPatternPeriod, so one period more than a piece is enough.
const std::array<char, kPatternPieceLen + kPatternPeriod>& patternTable() {
  static const auto table = [] {
    std::array<char, kPatternPieceLen + kPatternPeriod> bytes{};
    for (size_t i = 0; i < bytes.size(); ++i) {
      bytes[i] = static_cast<char>(i % kPatternPeriod);
    }
    return bytes;
  }();
  return table;
}

}  // namespace

Response makeTextResponse(int status, std::string body) {
  Response response;
  response.status = status;
  response.contentType = "text/plain; charset=utf-8";
  response.body = std::move(body);
  return response;
}

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
  }
  return "Unknown";
}

std::string serializeHead(const Response& response, Framing framing, ConnectionHeader connection) {
  std::string head = "HTTP/1.1 " + std::to_string(response.status) + " ";
  head += reasonPhrase(response.status);
  head += "\r\n";

  if (!response.contentType.empty()) {
    head += "Content-Type: " + response.contentType + "\r\n";
  }
  for (const Header& header : response.extraHeaders) {
    head += header.name + ": " + header.value + "\r\n";
  }

  if (framing.chunked) {
    head += "Transfer-Encoding: chunked\r\n";
  } else {
    head += "Content-Length: " + std::to_string(framing.contentLen) + "\r\n";
  }
  if (connection == ConnectionHeader::KeepAlive) {
    head += "Connection: keep-alive\r\n";
  } else if (connection == ConnectionHeader::Close) {
    head += "Connection: close\r\n";
  }

  head += "\r\n";
  return head;
}

std::string encodeChunk(std::string_view data) {
  assert(!data.empty());  // A zero-size chunk would end the body early.
  char size[20];
  int sizeLen = snprintf(size, sizeof(size), "%zx\r\n", data.size());

  std::string chunk;
  chunk.reserve(static_cast<size_t>(sizeLen) + data.size() + 2);
  chunk.append(size, static_cast<size_t>(sizeLen));
  chunk.append(data);
  chunk += "\r\n";
  return chunk;
}

std::string_view patternPiece(uint64_t offset, uint64_t maxLen) {
  size_t start = static_cast<size_t>(offset % kPatternPeriod);
  size_t len = static_cast<size_t>(std::min<uint64_t>(maxLen, kPatternPieceLen));
  return std::string_view(patternTable().data() + start, len);
}

}  // namespace demo
