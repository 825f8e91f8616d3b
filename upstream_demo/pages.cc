#include "upstream_demo/pages.h"

#include <cassert>

namespace demo {
namespace {

constexpr std::string_view kPageStart = R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>certgate demo</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 42rem; margin: 3rem auto; padding: 0 1rem; }
dt { font-weight: 600; margin-top: 1rem; }
dd { margin: 0.25rem 0 0; font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
</style>
</head>
<body>
)";

constexpr std::string_view kPageEnd = "</body>\n</html>\n";

std::string describeValue(const std::string* value) {
  if (value == nullptr) {
    return "<em>not sent</em>";
  }
  return escapeHtml(*value);
}

}  // namespace

std::string escapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string renderIdentityPage(const ClientIdentity& identity) {
  assert(identity.commonName != nullptr);
  std::string page(kPageStart);
  page += "<h1>Hello, " + escapeHtml(*identity.commonName) + "!</h1>\n";
  page +=
      "<p>Your request reached this service through the certgate mTLS gateway, "
      "which sent the identity below.</p>\n";
  page += "<dl>\n";
  page += "<dt>Subject</dt>\n<dd>" + describeValue(identity.subject) + "</dd>\n";
  page += "<dt>Certificate SHA-256</dt>\n<dd>" + describeValue(identity.certSha256) + "</dd>\n";
  page += "</dl>\n";
  page += kPageEnd;
  return page;
}

std::string renderUnauthorizedPage() {
  std::string page(kPageStart);
  page += "<h1>Missing client identity</h1>\n";
  page +=
      "<p>This service must be reached through the certgate gateway, which adds the "
      "client's certificate identity to each request.</p>\n";
  page += kPageEnd;
  return page;
}

}  // namespace demo
