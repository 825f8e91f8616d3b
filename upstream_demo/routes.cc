#include "upstream_demo/routes.h"

#include <charconv>
#include <optional>
#include <string>
#include <string_view>

#include "upstream_demo/pages.h"

namespace demo {
namespace {

using Handler = Response (*)(const RequestHead& head, std::string_view query);

struct Route {
  std::string_view path;
  // Methods the route accepts, as sent in the Allow header of a 405.
  std::string_view allow;
  Handler handler;
};

// Returns the X-Client-CN value, or nullptr when it is absent or empty: the
// gateway always sends a non-empty CN, so an empty one is no identity.
const std::string* findClientCn(const RequestHead& head) {
  const std::string* cn = head.findHeader("X-Client-CN");
  if (cn == nullptr || cn->empty()) {
    return nullptr;
  }
  return cn;
}

// Returns the value of query parameter "n" when it is a decimal integer no
// greater than |max|, or nullopt when it is missing or invalid.
std::optional<uint64_t> parseCount(std::string_view query, uint64_t max) {
  while (!query.empty()) {
    size_t end = query.find('&');
    std::string_view param = query.substr(0, end);
    query = end == std::string_view::npos ? std::string_view() : query.substr(end + 1);
    if (param.substr(0, 2) != "n=") {
      continue;
    }

    std::string_view digits = param.substr(2);
    uint64_t value = 0;
    auto [rest, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || error != std::errc() || rest != digits.data() + digits.size() ||
        value > max) {
      return std::nullopt;
    }
    return value;
  }
  return std::nullopt;
}

Response invalidCount(uint64_t max) {
  return makeTextResponse(
      400, "Invalid query: n must be an integer from 0 to " + std::to_string(max) + "\n");
}

Response serveIndex(const RequestHead& head, std::string_view /*query*/) {
  ClientIdentity identity;
  identity.commonName = findClientCn(head);
  identity.subject = head.findHeader("X-Client-Subject");
  identity.certSha256 = head.findHeader("X-Client-Cert-Sha256");

  Response response;
  response.contentType = "text/html; charset=utf-8";
  if (identity.commonName == nullptr) {
    response.status = 401;
    response.body = renderUnauthorizedPage();
  } else {
    response.body = renderIdentityPage(identity);
  }
  return response;
}

Response serveSecret(const RequestHead& head, std::string_view /*query*/) {
  const std::string* cn = findClientCn(head);
  if (cn == nullptr) {
    return makeTextResponse(401, "Missing client identity\n");
  }
  return makeTextResponse(200, "Secret resource. Welcome " + *cn + "!\n");
}

Response serveHeaders(const RequestHead& head, std::string_view /*query*/) {
  std::string body;
  for (const Header& header : head.headers) {
    body += header.name + ": " + header.value + "\n";
  }
  return makeTextResponse(200, std::move(body));
}

Response serveEcho(const RequestHead& /*head*/, std::string_view /*query*/) {
  Response response;
  response.contentType = "application/octet-stream";
  response.bodyKind = BodyKind::Echo;
  return response;
}

Response serveChunked(const RequestHead& /*head*/, std::string_view query) {
  std::optional<uint64_t> count = parseCount(query, kMaxChunkCount);
  if (!count) {
    return invalidCount(kMaxChunkCount);
  }

  Response response = makeTextResponse(200, "");
  response.bodyKind = BodyKind::Chunks;
  response.chunks.reserve(*count);
  for (uint64_t i = 0; i < *count; ++i) {
    response.chunks.push_back("chunk " + std::to_string(i) + "\n");
  }
  return response;
}

Response serveBytes(const RequestHead& /*head*/, std::string_view query) {
  std::optional<uint64_t> len = parseCount(query, kMaxPatternLen);
  if (!len) {
    return invalidCount(kMaxPatternLen);
  }

  Response response;
  response.contentType = "application/octet-stream";
  response.bodyKind = BodyKind::Pattern;
  response.patternLen = *len;
  return response;
}

constexpr Route kRoutes[] = {
    {"/", "GET, HEAD", serveIndex},          {"/secret", "GET, HEAD", serveSecret},
    {"/headers", "GET, HEAD", serveHeaders}, {"/echo", "POST", serveEcho},
    {"/chunked", "GET, HEAD", serveChunked}, {"/bytes", "GET, HEAD", serveBytes},
};

bool isAllowed(const Route& route, std::string_view method) {
  std::string_view allow = route.allow;
  while (!allow.empty()) {
    size_t end = allow.find(", ");
    if (allow.substr(0, end) == method) {
      return true;
    }
    allow = end == std::string_view::npos ? std::string_view() : allow.substr(end + 2);
  }
  return false;
}

}  // namespace

Response routeRequest(const RequestHead& head) {
  std::string_view target = head.target;
  size_t queryStart = target.find('?');
  std::string_view path = target.substr(0, queryStart);
  std::string_view query =
      queryStart == std::string_view::npos ? std::string_view() : target.substr(queryStart + 1);

  for (const Route& route : kRoutes) {
    if (route.path != path) {
      continue;
    }
    if (!isAllowed(route, head.method)) {
      Response response = makeTextResponse(405, "Method not allowed\n");
      response.extraHeaders.push_back({"Allow", std::string(route.allow)});
      return response;
    }
    return route.handler(head, query);
  }
  return makeTextResponse(404, "Not found\n");
}

}  // namespace demo
