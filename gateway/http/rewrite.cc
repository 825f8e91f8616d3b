#include "gateway/http/rewrite.h"

#include <cstdio>
#include <vector>

namespace gw::http {
namespace {

bool isHopByHop(std::string_view name) {
  static constexpr std::string_view kHopByHop[] = {"Connection",
                                                   "Keep-Alive",
                                                   "Proxy-Connection",
                                                   "TE",
                                                   "Trailer",
                                                   "Transfer-Encoding",
                                                   "Upgrade",
                                                   "Proxy-Authenticate",
                                                   "Proxy-Authorization"};
  for (std::string_view hop : kHopByHop) {
    if (equalsIgnoreCase(name, hop)) {
      return true;
    }
  }
  return false;
}

// connectionTokens returns the header names listed in Connection headers,
// which are hop-by-hop too (RFC 9110, section 7.6.1).
std::vector<std::string> connectionTokens(const MessageHead& head) {
  std::vector<std::string> tokens;
  for (const Header& header : head.headers) {
    if (!equalsIgnoreCase(header.name, "Connection")) {
      continue;
    }
    size_t start = 0;
    const std::string& value = header.value;
    while (start <= value.size()) {
      size_t end = value.find(',', start);
      if (end == std::string::npos) {
        end = value.size();
      }
      std::string token = value.substr(start, end - start);
      size_t first = token.find_first_not_of(" \t");
      size_t last = token.find_last_not_of(" \t");
      if (first != std::string::npos) {
        tokens.push_back(token.substr(first, last - first + 1));
      }
      start = end + 1;
    }
  }
  return tokens;
}

bool isListedIn(const std::vector<std::string>& tokens, std::string_view name) {
  for (const std::string& token : tokens) {
    if (equalsIgnoreCase(token, name)) {
      return true;
    }
  }
  return false;
}

void appendHeader(std::string* out, std::string_view name, std::string_view value) {
  out->append(name);
  out->append(": ");
  out->append(value);
  out->append("\r\n");
}

bool responseHasBody(const MessageHead& response, bool request_is_head) {
  if (request_is_head) {
    return false;
  }
  int status = response.status;
  return !(status < 200 || status == 204 || status == 304);
}

}  // namespace

bool isIdentityHeader(std::string_view name) {
  static constexpr std::string_view kPrefix = "x-client-";
  if (name.size() < kPrefix.size()) {
    return false;
  }
  for (size_t i = 0; i < kPrefix.size(); i++) {
    char c = name[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c + 32);
    } else if (c == '_') {
      c = '-';
    }
    if (c != kPrefix[i]) {
      return false;
    }
  }
  return true;
}

std::string encodeHeaderValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (unsigned char c : value) {
    if (c < 0x20 || c >= 0x7f || c == '%') {
      char buf[4];
      snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string buildUpstreamRequestHead(const MessageHead& request, const policy::Identity& identity,
                                     const ForwardedFor& forwarded) {
  std::string out;
  out.reserve(512);
  out += request.method;
  out += ' ';
  out += request.target;
  out += " HTTP/1.1\r\n";
  std::vector<std::string> tokens = connectionTokens(request);
  for (const Header& header : request.headers) {
    if (isHopByHop(header.name) || isListedIn(tokens, header.name) ||
        isIdentityHeader(header.name) || equalsIgnoreCase(header.name, "X-Forwarded-For") ||
        equalsIgnoreCase(header.name, "X-Forwarded-Proto") ||
        equalsIgnoreCase(header.name, "Forwarded")) {
      continue;
    }
    appendHeader(&out, header.name, header.value);
  }
  if (request.chunked) {
    appendHeader(&out, "Transfer-Encoding", "chunked");
  }
  appendHeader(&out, "X-Forwarded-For", forwarded.client_ip);
  appendHeader(&out, "X-Forwarded-Proto", "https");
  appendHeader(&out, kClientCnHeader, encodeHeaderValue(identity.cn));
  appendHeader(&out, kClientSubjectHeader, encodeHeaderValue(identity.subject));
  appendHeader(&out, kClientIssuerHeader, encodeHeaderValue(identity.issuer));
  appendHeader(&out, kClientSerialHeader, encodeHeaderValue(identity.serial_hex));
  appendHeader(&out, kClientFingerprintHeader, encodeHeaderValue(identity.fingerprint_sha256));
  out += "\r\n";
  return out;
}

std::string buildClientResponseHead(const MessageHead& response, bool request_is_head,
                                    int client_version_minor, bool close,
                                    ResponseFraming* out_framing) {
  std::string out;
  out.reserve(512);
  out += "HTTP/1.1 " + std::to_string(response.status) + " ";
  out += response.reason.empty() ? reasonPhrase(response.status) : response.reason;
  out += "\r\n";
  std::vector<std::string> tokens = connectionTokens(response);
  for (const Header& header : response.headers) {
    if (isHopByHop(header.name) || isListedIn(tokens, header.name)) {
      continue;
    }
    appendHeader(&out, header.name, header.value);
  }
  ResponseFraming framing = ResponseFraming::None;
  if (!responseHasBody(response, request_is_head)) {
    framing = ResponseFraming::None;
  } else if (response.has_content_length && !response.chunked) {
    framing = ResponseFraming::ContentLength;
  } else if (client_version_minor >= 1) {
    framing = ResponseFraming::Chunked;
  } else {
    framing = ResponseFraming::UntilClose;
    close = true;
  }
  if (framing == ResponseFraming::Chunked) {
    appendHeader(&out, "Transfer-Encoding", "chunked");
  }
  if (close && response.status >= 200) {
    appendHeader(&out, "Connection", "close");
  }
  out += "\r\n";
  *out_framing = framing;
  return out;
}

std::string encodeChunk(std::string_view data) {
  if (data.empty()) {
    return {};
  }
  char size[24];
  snprintf(size, sizeof(size), "%zx\r\n", data.size());
  std::string out = size;
  out.append(data);
  out.append("\r\n");
  return out;
}

std::string buildLocalReply(int status, std::string_view body, bool close) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reasonPhrase(status) + "\r\n";
  appendHeader(&out, "Content-Type", "text/plain; charset=utf-8");
  appendHeader(&out, "Content-Length", std::to_string(body.size()));
  appendHeader(&out, "Cache-Control", "no-store");
  if (close) {
    appendHeader(&out, "Connection", "close");
  }
  out += "\r\n";
  out.append(body);
  return out;
}

}  // namespace gw::http
