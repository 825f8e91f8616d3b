#include "gateway/http/target.h"

#include "gateway/common/ascii.h"

namespace gw::http {
namespace {

TargetCheck reject(std::string reason) {
  TargetCheck check;
  check.reason = std::move(reason);
  return check;
}

// checkEscapes rejects malformed escapes and escapes of bytes that change
// how a path splits into segments.
bool checkEscapes(std::string_view path, std::string* out_reason) {
  for (size_t i = 0; i < path.size(); i++) {
    if (path[i] != '%') {
      continue;
    }
    if (i + 2 >= path.size()) {
      *out_reason = "truncated percent-encoding";
      return false;
    }
    int high = ascii::hexValue(path[i + 1]);
    int low = ascii::hexValue(path[i + 2]);
    if (high < 0 || low < 0) {
      *out_reason = "invalid percent-encoding";
      return false;
    }
    int byte = high * 16 + low;
    if (byte == '/' || byte == '\\' || byte == '.' || byte == '%' || byte < 0x20 || byte == 0x7f) {
      *out_reason = "percent-encoded '/', '\\', '.', '%' or control character in path";
      return false;
    }
  }
  return true;
}

bool isUnreserved(int byte) {
  return (byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') ||
         (byte >= '0' && byte <= '9') || byte == '-' || byte == '_' || byte == '~';
}

// normalizeEscapes decodes escaped unreserved characters and uppercases
// the hex digits of the other escapes. |path| passed checkEscapes.
std::string normalizeEscapes(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (size_t i = 0; i < path.size(); i++) {
    if (path[i] != '%') {
      out += path[i];
      continue;
    }
    int byte = ascii::hexValue(path[i + 1]) * 16 + ascii::hexValue(path[i + 2]);
    if (isUnreserved(byte)) {
      out += static_cast<char>(byte);
    } else {
      static const char kDigits[] = "0123456789ABCDEF";
      out += '%';
      out += kDigits[byte >> 4];
      out += kDigits[byte & 15];
    }
    i += 2;
  }
  return out;
}

}  // namespace

HostCheck checkHostHeader(std::string_view value) {
  HostCheck check;
  std::string_view host = value;
  if (host.starts_with('[')) {
    size_t close = host.find(']');
    if (close == std::string_view::npos) {
      check.reason = "invalid Host header: unclosed '['";
      return check;
    }
    std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) {
      check.reason = "invalid Host header: text after ']'";
      return check;
    }
    host = host.substr(0, close + 1);
  } else if (size_t colon = host.find(':'); colon != std::string_view::npos) {
    std::string_view port = host.substr(colon + 1);
    for (char c : port) {
      if (c < '0' || c > '9') {
        check.reason = "invalid Host header: bad port";
        return check;
      }
    }
    host = host.substr(0, colon);
  }
  if (host.ends_with('.')) {
    host.remove_suffix(1);  // "example.com." names the same host
  }
  if (host.empty()) {
    check.reason = "empty Host header";
    return check;
  }
  for (char c : host) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '.' || c == '[' || c == ']' || c == ':' || c == '_';
    if (!allowed) {
      check.host.clear();
      check.reason = "invalid character in Host header";
      return check;
    }
    check.host += ascii::toLower(c);
  }
  check.ok = true;
  return check;
}

TargetCheck checkTarget(std::string_view target) {
  if (target.empty() || target[0] != '/') {
    return reject("request target must be a path starting with '/'");
  }
  std::string_view path = target.substr(0, target.find('?'));
  if (path.find('#') != std::string_view::npos) {
    return reject("fragment in request target");
  }
  for (unsigned char c : target) {
    if (c < 0x21 || c == 0x7f || c == '\\') {
      return reject("control character, space or backslash in request target");
    }
  }
  if (path.find(';') != std::string_view::npos) {
    return reject("';' in path (matrix parameters are not supported)");
  }
  std::string reason;
  if (!checkEscapes(path, &reason)) {
    return reject(reason);
  }
  // Walk the segments after the leading '/'.
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) {
      end = path.size();
    }
    std::string_view segment = path.substr(start, end - start);
    if (segment == "." || segment == "..") {
      return reject("dot segment in path");
    }
    if (segment.empty() && end != path.size()) {
      return reject("empty segment ('//') in path");
    }
    start = end + 1;
  }
  TargetCheck check;
  check.ok = true;
  if (path.find('%') == std::string_view::npos) {
    check.path.assign(path);  // nothing to normalize
  } else {
    check.path = normalizeEscapes(path);
  }
  check.target = check.path + std::string(target.substr(path.size()));
  return check;
}

}  // namespace gw::http
