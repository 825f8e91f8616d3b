#include "gateway/http/target.h"

namespace gw::http {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

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
    int high = hexValue(path[i + 1]);
    int low = hexValue(path[i + 2]);
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

}  // namespace

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
  check.path = std::string(path);
  return check;
}

}  // namespace gw::http
