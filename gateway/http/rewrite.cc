#include "gateway/http/rewrite.h"

#include <charconv>
#include <cstdio>
#include <vector>

#include "gateway/common/ascii.h"

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
  // "Connection: Host" must not take the Host header away from the upstream.
  if (equalsIgnoreCase(name, "Host")) {
    return false;
  }
  for (const std::string& token : tokens) {
    if (equalsIgnoreCase(token, name)) {
      return true;
    }
  }
  return false;
}

void appendNumber(std::string* out, uint64_t value) {
  char digits[24];
  auto [end, error] = std::to_chars(digits, digits + sizeof(digits), value);
  out->append(digits, end);
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

// foldNameChar folds a header-name byte for the identity-set comparison:
// ASCII case is ignored and '_' is read as '-'.
char foldNameChar(char c) {
  return c == '_' ? '-' : ascii::toLower(c);
}

// nameStartsWith compares without allocating, because it runs for every
// header of every request. |prefix| is already folded.
bool nameStartsWith(std::string_view name, std::string_view prefix) {
  if (name.size() < prefix.size()) {
    return false;
  }
  for (size_t i = 0; i < prefix.size(); i++) {
    if (foldNameChar(name[i]) != prefix[i]) {
      return false;
    }
  }
  return true;
}

bool sameName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); i++) {
    if (foldNameChar(a[i]) != foldNameChar(b[i])) {
      return false;
    }
  }
  return true;
}

// mustPercentEncode reports whether |c| is %XX anywhere in an identity
// header value.
bool mustPercentEncode(unsigned char c) {
  return c < 0x20 || c >= 0x7f || c == '%' || c == '"' || c == ',' || c == '\\';
}

bool isHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

char toUpperHex(char c) {
  return c >= 'a' && c <= 'f' ? static_cast<char>(c - 'a' + 'A') : c;
}

void appendPercentEncoded(std::string* out, unsigned char c) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  out->push_back('%');
  out->push_back(kDigits[c >> 4]);
  out->push_back(kDigits[c & 0x0f]);
}

}  // namespace

bool isIdentityHeader(std::string_view name) {
  return nameStartsWith(name, "x-client-") || sameName(name, "client-cert") ||
         sameName(name, "client-cert-chain");
}

bool isConfiguredIdentityHeader(std::string_view name, const std::vector<std::string>& names) {
  for (const std::string& configured : names) {
    if (sameName(configured, name)) {
      return true;
    }
  }
  return false;
}

std::vector<std::string> identityHeaderNameList(const config::IdentityHeaderNames& names) {
  std::vector<std::string> list;
  for (const std::string* name : names.all()) {
    if (!name->empty()) {
      list.push_back(*name);
    }
  }
  return list;
}

std::string sanList(const policy::Identity& identity) {
  std::string out;
  auto add = [&out](const char* type, const std::vector<std::string>& values) {
    for (const std::string& value : values) {
      out += (out.empty() ? "" : ", ") + std::string(type) + ":" + encodeIdentityValue(value);
    }
  };
  add("DNS", identity.dns);
  add("URI", identity.uri);
  add("email", identity.email);
  add("IP", identity.ip);
  return out;
}

std::string encodeIdentityValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); i++) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    bool edge_space = c == ' ' && (i == 0 || i + 1 == value.size());
    if (mustPercentEncode(c) || edge_space) {
      appendPercentEncoded(&out, c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string encodeDistinguishedName(std::string_view rfc4514) {
  std::string out;
  out.reserve(rfc4514.size());
  size_t i = 0;
  while (i < rfc4514.size()) {
    unsigned char c = static_cast<unsigned char>(rfc4514[i]);
    if (c == '\\' && i + 2 < rfc4514.size() && isHexDigit(rfc4514[i + 1]) &&
        isHexDigit(rfc4514[i + 2])) {
      // "\XX" is one escaped byte (a control character) in hex.
      out += '%';
      out += toUpperHex(rfc4514[i + 1]);
      out += toUpperHex(rfc4514[i + 2]);
      i += 3;
    } else if (c == '\\' && i + 1 < rfc4514.size()) {
      // "\c" is a special character taken literally: ',' '+' '"' '\\' '<'
      // '>' ';', or a leading '#' or space, or a trailing space.
      appendPercentEncoded(&out, static_cast<unsigned char>(rfc4514[i + 1]));
      i += 2;
    } else {
      // The printer escapes ',' and '+' inside values, so unescaped ones
      // separate RDNs and attributes. '=' stays as it is, because the first
      // '=' of an attribute ends its type.
      if (c == ',' || c == '+' || c == '=' || !mustPercentEncode(c)) {
        out += static_cast<char>(c);
      } else {
        appendPercentEncoded(&out, c);
      }
      i++;
    }
  }
  return out;
}

std::string buildUpstreamRequestHead(const MessageHead& request, const policy::Identity& identity,
                                     const ForwardedFor& forwarded) {
  return buildUpstreamRequestHead(request, identity, forwarded, config::IdentityHeaderNames{});
}

std::string buildUpstreamRequestHead(const MessageHead& request, const policy::Identity& identity,
                                     const ForwardedFor& forwarded,
                                     const config::IdentityHeaderNames& names) {
  std::string out;
  appendUpstreamRequestHead(&out, request, identityHeaderNameList(names),
                            buildConnectionHeaders(identity, forwarded, names));
  return out;
}

void appendUpstreamRequestHead(std::string* out, const MessageHead& request,
                               const std::vector<std::string>& identity_names,
                               std::string_view connection_headers) {
  out->reserve(out->size() + 256 + request.target.size() + connection_headers.size());
  out->append(request.method);
  out->push_back(' ');
  out->append(request.target);
  out->append(" HTTP/1.1\r\n");
  std::vector<std::string> tokens = connectionTokens(request);
  for (const Header& header : request.headers) {
    // Framing headers are rebuilt below from what the parser decided, so a
    // "Connection: Content-Length" cannot remove the length of a body that
    // is still forwarded.
    if (isHopByHop(header.name) || isListedIn(tokens, header.name) ||
        equalsIgnoreCase(header.name, "Content-Length") || isIdentityHeader(header.name) ||
        isConfiguredIdentityHeader(header.name, identity_names) ||
        equalsIgnoreCase(header.name, "X-Forwarded-For") ||
        equalsIgnoreCase(header.name, "X-Forwarded-Proto") ||
        equalsIgnoreCase(header.name, "Forwarded")) {
      continue;
    }
    appendHeader(out, header.name, header.value);
  }
  if (request.chunked) {
    appendHeader(out, "Transfer-Encoding", "chunked");
  } else if (request.has_content_length) {
    out->append("Content-Length: ");
    appendNumber(out, request.content_length);
    out->append("\r\n");
  }
  out->append(connection_headers);
  out->append("\r\n");
}

std::string buildConnectionHeaders(const policy::Identity& identity, const ForwardedFor& forwarded,
                                   const config::IdentityHeaderNames& names) {
  std::string out;
  appendHeader(&out, "X-Forwarded-For", forwarded.client_ip);
  appendHeader(&out, "X-Forwarded-Proto", "https");
  // RFC 7239: IPv6 addresses go in brackets inside a quoted string.
  bool v6 = forwarded.client_ip.find(':') != std::string::npos;
  appendHeader(&out, "Forwarded",
               v6 ? "for=\"[" + forwarded.client_ip + "]\";proto=https"
                  : "for=" + forwarded.client_ip + ";proto=https");
  // Without a client certificate (public routes) no identity header is
  // sent, but the client's copies are still removed from every request.
  if (!identity.fingerprint_sha256.empty()) {
    // Every value is encoded already, as one value, a DN or a list.
    std::pair<const std::string*, std::string> values[] = {
        {&names.cn, encodeIdentityValue(identity.cn)},
        {&names.subject, encodeDistinguishedName(identity.subject)},
        {&names.issuer, encodeDistinguishedName(identity.issuer)},
        {&names.serial, encodeIdentityValue(identity.serial_hex)},
        {&names.fingerprint, encodeIdentityValue(identity.fingerprint_sha256)},
        {&names.sans, sanList(identity)},
        {&names.not_after, encodeIdentityValue(identity.not_after)},
    };
    for (const auto& [name, value] : values) {
      if (!name->empty()) {
        appendHeader(&out, *name, value);
      }
    }
  }
  // RFC 9440: a byte sequence (RFC 8941), the DER certificate in base64
  // between colons; the chain is a list of them.
  if (!names.client_cert.empty() && !identity.cert_base64.empty()) {
    appendHeader(&out, names.client_cert, ":" + identity.cert_base64 + ":");
  }
  if (!names.client_cert_chain.empty() && !identity.chain_base64.empty()) {
    std::string chain;
    for (const std::string& cert : identity.chain_base64) {
      chain += (chain.empty() ? ":" : ", :") + cert + ":";
    }
    appendHeader(&out, names.client_cert_chain, chain);
  }
  return out;
}

std::string buildClientResponseHead(const MessageHead& response, bool request_is_head,
                                    int client_version_minor, bool close,
                                    ResponseFraming* out_framing) {
  std::string out;
  appendClientResponseHead(&out, response, request_is_head, client_version_minor, close,
                           out_framing);
  return out;
}

void appendClientResponseHead(std::string* out, const MessageHead& response, bool request_is_head,
                              int client_version_minor, bool close, ResponseFraming* out_framing) {
  out->reserve(out->size() + 512);
  out->append("HTTP/1.1 ");
  appendNumber(out, static_cast<uint64_t>(response.status));
  out->push_back(' ');
  out->append(response.reason.empty() ? std::string_view(reasonPhrase(response.status))
                                      : std::string_view(response.reason));
  out->append("\r\n");
  std::vector<std::string> tokens = connectionTokens(response);
  for (const Header& header : response.headers) {
    if (isHopByHop(header.name) || isListedIn(tokens, header.name) ||
        equalsIgnoreCase(header.name, "Content-Length")) {
      continue;
    }
    appendHeader(out, header.name, header.value);
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
    appendHeader(out, "Transfer-Encoding", "chunked");
  } else if (response.has_content_length && !response.chunked &&
             (framing == ResponseFraming::ContentLength || request_is_head ||
              response.status == 304)) {
    // HEAD and 304 responses keep the length of the body they describe.
    out->append("Content-Length: ");
    appendNumber(out, response.content_length);
    out->append("\r\n");
  }
  if (close && response.status >= 200) {
    appendHeader(out, "Connection", "close");
  }
  out->append("\r\n");
  *out_framing = framing;
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

std::string buildLastChunk(const std::vector<Header>& trailers) {
  std::string out = "0\r\n";
  for (const Header& trailer : trailers) {
    if (isHopByHop(trailer.name) || isIdentityHeader(trailer.name) ||
        equalsIgnoreCase(trailer.name, "Content-Length") ||
        equalsIgnoreCase(trailer.name, "Host")) {
      continue;
    }
    appendHeader(&out, trailer.name, trailer.value);
  }
  out += "\r\n";
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
