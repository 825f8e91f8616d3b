#include "gateway/http/rewrite.h"

#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace {

using gw::http::buildClientResponseHead;
using gw::http::buildLocalReply;
using gw::http::buildUpstreamRequestHead;
using gw::http::encodeChunk;
using gw::http::encodeDistinguishedName;
using gw::http::encodeIdentityValue;
using gw::http::ForwardedFor;
using gw::http::Header;
using gw::http::isIdentityHeader;
using gw::http::MessageHead;
using gw::http::ResponseFraming;
using gw::policy::Identity;

// SerializedHead is a serialized message head split back into its parts.
struct SerializedHead {
  std::string start_line;
  std::vector<Header> headers;
  bool has_blank_line = false;       // the head ends with an empty line
  bool has_bare_line_break = false;  // a CR or LF appears outside a CRLF
  std::string rest;                  // bytes after the empty line
};

SerializedHead splitHead(const std::string& text) {
  SerializedHead head;
  size_t start = 0;
  bool first = true;
  while (start < text.size()) {
    size_t end = text.find("\r\n", start);
    if (end == std::string::npos) {
      break;
    }
    std::string line = text.substr(start, end - start);
    start = end + 2;
    if (line.find_first_of("\r\n") != std::string::npos) {
      head.has_bare_line_break = true;
    }
    if (first) {
      head.start_line = line;
      first = false;
      continue;
    }
    if (line.empty()) {
      head.has_blank_line = true;
      head.rest = text.substr(start);
      break;
    }
    size_t colon = line.find(": ");
    if (colon == std::string::npos) {
      head.headers.push_back(Header{line, ""});
    } else {
      head.headers.push_back(Header{line.substr(0, colon), line.substr(colon + 2)});
    }
  }
  return head;
}

// valuesOf returns the values of every header named |name| (any case), each
// in brackets ("[a][b]"), so that a failed check prints what was sent. It
// returns an empty string when there is no such header.
std::string valuesOf(const SerializedHead& head, std::string_view name) {
  std::string values;
  for (const Header& header : head.headers) {
    if (gw::http::equalsIgnoreCase(header.name, name)) {
      values += "[" + header.value + "]";
    }
  }
  return values;
}

// namesOf returns every header name in order, each in brackets.
std::string namesOf(const SerializedHead& head) {
  std::string names;
  for (const Header& header : head.headers) {
    names += "[" + header.name + "]";
  }
  return names;
}

Identity demoIdentity() {
  Identity identity;
  identity.cn = "good-client";
  identity.subject = "CN=good-client,O=Demo";
  identity.issuer = "CN=Demo Root CA,O=Demo";
  identity.serial_hex = "1A2B";
  identity.fingerprint_sha256 = std::string(64, 'a');
  return identity;
}

MessageHead getRequest(std::vector<Header> headers) {
  MessageHead request;
  request.method = "GET";
  request.target = "/secret?x=1";
  request.headers = std::move(headers);
  return request;
}

std::string upstreamHead(const MessageHead& request) {
  return buildUpstreamRequestHead(request, demoIdentity(), ForwardedFor{"192.0.2.7"});
}

MessageHead response(int status, std::vector<Header> headers) {
  MessageHead head;
  head.status = status;
  head.headers = std::move(headers);
  return head;
}

}  // namespace

TEST_SUITE("http.isIdentityHeader") {
  TEST_CASE("X-Client- names in any form are identity") {
    const char* names[] = {
        "X-Client-CN",          "x-client-cn",     "X_CLIENT_CN",     "x-Client_Subject",
        "X-Client-Cert-Sha256", "X_Client-Issuer", "x_client_serial", "X-Client-",
        "X-CLIENT-ANYTHING"};
    for (const char* name : names) {
      CAPTURE(name);
      CHECK(isIdentityHeader(name));
    }
  }

  TEST_CASE("other names are not identity") {
    const char* names[] = {"X-Clients", "X-Client",   "X-Forwarded-For",
                           "Client-CN", "X-ClientCN", "XX-Client-CN",
                           "",          "Host",       "X Client CN"};
    for (const char* name : names) {
      CAPTURE(name);
      CHECK_FALSE(isIdentityHeader(name));
    }
  }
}

TEST_SUITE("http.encodeIdentityValue") {
  TEST_CASE("unsafe bytes become percent escapes") {
    struct Case {
      std::string value;
      std::string encoded;
    };
    const Case cases[] = {
        {"a\rb", "a%0Db"},
        {"a\nb", "a%0Ab"},
        {std::string("a\0b", 3), "a%00b"},
        {"a\tb", "a%09b"},
        {"100%", "100%25"},
        {"%0D", "%250D"},
        {"caf\xC3\xA9", "caf%C3%A9"},
        {"\x7F", "%7F"},
        {"\xFF", "%FF"},
        {"bad\r\nX-Evil: 1", "bad%0D%0AX-Evil: 1"},
        {"spiffe://corp/x, DNS:admin.internal", "spiffe://corp/x%2C DNS:admin.internal"},
        {"say \"hi\"", "say %22hi%22"},
        {"a\\b", "a%5Cb"},
        {" padded ", "%20padded%20"},
        {" ", "%20"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.value);
      CHECK(encodeIdentityValue(c.value) == c.encoded);
    }
  }

  TEST_CASE("other visible ASCII is unchanged") {
    std::string visible;
    for (char c = 0x21; c < 0x7f; c++) {
      if (c != '%' && c != '"' && c != ',' && c != '\\') {
        visible += c;
      }
    }

    CHECK(encodeIdentityValue(visible) == visible);
    CHECK(encodeIdentityValue("John Smith") == "John Smith");
    CHECK(encodeIdentityValue("") == "");
  }
}

TEST_SUITE("http.encodeDistinguishedName") {
  TEST_CASE("separators stay, escapes become percent") {
    struct Case {
      std::string rfc4514;
      std::string encoded;
    };
    const Case cases[] = {
        {"CN=good-client,O=Demo", "CN=good-client,O=Demo"},
        {"CN=Demo Root CA,O=Demo", "CN=Demo Root CA,O=Demo"},
        {"CN=x\\, OU=admin,O=Demo", "CN=x%2C OU=admin,O=Demo"},
        {"CN=a\\+b=c\\;\\\"d\\\"\\<e\\>\\\\,O=Demo\\, Inc.",
         "CN=a%2Bb=c%3B%22d%22%3Ce%3E%5C,O=Demo%2C Inc."},
        {"O=\\#hash,CN=\\ padded\\ ", "O=%23hash,CN=%20padded%20"},
        {"CN=bad\\0Aline", "CN=bad%0Aline"},
        {"CN=bad\\0aline", "CN=bad%0Aline"},
        {"CN=bad\nX-Evil: 2", "CN=bad%0AX-Evil: 2"},
        {"CN=Zo\xC3\xAB,O=D\xC3\xA9mo", "CN=Zo%C3%AB,O=D%C3%A9mo"},
        {"CN=100%", "CN=100%25"},
        {"CN=a+OU=b", "CN=a+OU=b"},
        {"CN=trailing\\", "CN=trailing%5C"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.rfc4514);
      CHECK(encodeDistinguishedName(c.rfc4514) == c.encoded);
    }
  }
}

TEST_SUITE("http.buildUpstreamRequestHead") {
  TEST_CASE("request line uses HTTP/1.1") {
    MessageHead request = getRequest({{"Host", "gateway.test"}});
    request.version_minor = 0;

    SerializedHead head = splitHead(upstreamHead(request));

    CHECK(head.start_line == "GET /secret?x=1 HTTP/1.1");
    CHECK(head.has_blank_line);
    CHECK(head.rest.empty());
    CHECK_FALSE(head.has_bare_line_break);
  }

  TEST_CASE("end-to-end headers are kept in order") {
    MessageHead request =
        getRequest({{"Host", "gateway.test"}, {"Accept", "*/*"}, {"User-Agent", "curl/8"}});

    SerializedHead head = splitHead(upstreamHead(request));

    REQUIRE(head.headers.size() >= 3);
    CHECK(head.headers[0].name == "Host");
    CHECK(head.headers[0].value == "gateway.test");
    CHECK(head.headers[1].name == "Accept");
    CHECK(head.headers[2].name == "User-Agent");
    CHECK(head.headers[2].value == "curl/8");
  }

  TEST_CASE("spoofed identity headers are removed") {
    MessageHead request = getRequest({{"Host", "gateway.test"},
                                      {"X-Client-CN", "admin"},
                                      {"x-client-cn", "admin"},
                                      {"X_CLIENT_CN", "admin"},
                                      {"x-Client_Subject", "CN=admin"},
                                      {"X-Client-Issuer", "CN=evil"},
                                      {"X-Client-Serial", "01"},
                                      {"X-Client-Cert-Sha256", "00"},
                                      {"X-Client-Role", "admin"}});

    SerializedHead head = splitHead(upstreamHead(request));

    CHECK(valuesOf(head, "X-Client-CN") == "[good-client]");
    CHECK(valuesOf(head, "X_CLIENT_CN").empty());
    CHECK(valuesOf(head, "X-Client-Subject") == "[CN=good-client,O=Demo]");
    CHECK(valuesOf(head, "x-Client_Subject").empty());
    CHECK(valuesOf(head, "X-Client-Issuer") == "[CN=Demo Root CA,O=Demo]");
    CHECK(valuesOf(head, "X-Client-Serial") == "[1A2B]");
    CHECK(valuesOf(head, "X-Client-Cert-Sha256") == "[" + std::string(64, 'a') + "]");
    CHECK(valuesOf(head, "X-Client-Role").empty());
  }

  TEST_CASE("gateway adds identity headers once") {
    MessageHead request = getRequest({{"Host", "gateway.test"}});

    SerializedHead head = splitHead(upstreamHead(request));

    int identity_headers = 0;
    for (const Header& header : head.headers) {
      identity_headers += isIdentityHeader(header.name) ? 1 : 0;
    }
    CHECK(identity_headers == 7);
    CHECK(valuesOf(head, "X-Client-CN") == "[good-client]");
  }

  TEST_CASE("route header names replace defaults") {
    MessageHead request = getRequest({{"X-User", "spoofed"}, {"client_cert", ":AAAA:"}});
    Identity identity = demoIdentity();
    identity.uri = {"spiffe://corp/ns/prod/sa/x"};
    identity.dns = {"x.corp.example"};
    identity.cert_base64 = "MIIB";
    identity.chain_base64 = {"MIIC", "MIID"};
    gw::config::IdentityHeaderNames names;
    names.cn = "X-User";
    names.subject = "";
    names.client_cert = "Client-Cert";
    names.client_cert_chain = "Client-Cert-Chain";

    SerializedHead head =
        splitHead(buildUpstreamRequestHead(request, identity, ForwardedFor{"192.0.2.7"}, names));

    CHECK(valuesOf(head, "X-User") == "[good-client]");
    CHECK(valuesOf(head, "X-Client-CN").empty());
    CHECK(valuesOf(head, "X-Client-Subject").empty());
    CHECK(valuesOf(head, "X-Client-SAN") == "[DNS:x.corp.example, URI:spiffe://corp/ns/prod/sa/x]");
    CHECK(valuesOf(head, "Client-Cert") == "[:MIIB:]");
    CHECK(valuesOf(head, "Client-Cert-Chain") == "[:MIIC:, :MIID:]");
  }

  TEST_CASE("hop-by-hop headers are removed") {
    MessageHead request = getRequest({{"Host", "gateway.test"},
                                      {"Connection", "keep-alive, X-Hop-Only"},
                                      {"Keep-Alive", "timeout=5"},
                                      {"Proxy-Connection", "keep-alive"},
                                      {"TE", "trailers"},
                                      {"Trailer", "X-Checksum"},
                                      {"Upgrade", "websocket"},
                                      {"Proxy-Authorization", "Basic eDp5"},
                                      {"X-Hop-Only", "1"},
                                      {"x-hop-only", "2"},
                                      {"Accept", "*/*"}});

    SerializedHead head = splitHead(upstreamHead(request));

    CHECK(valuesOf(head, "Connection").empty());
    CHECK(valuesOf(head, "Keep-Alive").empty());
    CHECK(valuesOf(head, "Proxy-Connection").empty());
    CHECK(valuesOf(head, "TE").empty());
    CHECK(valuesOf(head, "Trailer").empty());
    CHECK(valuesOf(head, "Upgrade").empty());
    CHECK(valuesOf(head, "Proxy-Authorization").empty());
    CHECK(valuesOf(head, "X-Hop-Only").empty());
    CHECK(valuesOf(head, "Host") == "[gateway.test]");
    CHECK(valuesOf(head, "Accept") == "[*/*]");
  }

  TEST_CASE("every Connection header lists hop headers") {
    MessageHead request = getRequest({{"Connection", "X-One"},
                                      {"connection", " x-two ,,\tX-Three "},
                                      {"X-One", "1"},
                                      {"X-Two", "2"},
                                      {"X-Three", "3"},
                                      {"X-Four", "4"}});

    SerializedHead head = splitHead(upstreamHead(request));

    CHECK(valuesOf(head, "X-One").empty());
    CHECK(valuesOf(head, "X-Two").empty());
    CHECK(valuesOf(head, "X-Three").empty());
    CHECK(valuesOf(head, "X-Four") == "[4]");
  }

  TEST_CASE("X-Forwarded headers are replaced") {
    MessageHead request = getRequest({{"X-Forwarded-For", "203.0.113.9"},
                                      {"x-forwarded-for", "198.51.100.1"},
                                      {"X-Forwarded-Proto", "http"},
                                      {"Forwarded", "for=203.0.113.9"}});

    SerializedHead head = splitHead(upstreamHead(request));

    CHECK(valuesOf(head, "X-Forwarded-For") == "[192.0.2.7]");
    CHECK(valuesOf(head, "X-Forwarded-Proto") == "[https]");
    CHECK(valuesOf(head, "Forwarded") == "[for=192.0.2.7;proto=https]");
  }

  TEST_CASE("Forwarded quotes an IPv6 client") {
    MessageHead request = getRequest({});
    SerializedHead head =
        splitHead(buildUpstreamRequestHead(request, demoIdentity(), ForwardedFor{"::1"}));
    CHECK(valuesOf(head, "Forwarded") == "[for=\"[::1]\";proto=https]");
  }

  TEST_CASE("chunked request keeps one Transfer-Encoding") {
    MessageHead request = getRequest({{"Transfer-Encoding", "chunked"}});
    request.method = "POST";
    request.chunked = true;

    SerializedHead head = splitHead(upstreamHead(request));

    CHECK(valuesOf(head, "Transfer-Encoding") == "[chunked]");
    CHECK(valuesOf(head, "Content-Length").empty());
  }

  TEST_CASE("request without body gets no framing") {
    MessageHead request = getRequest({{"Host", "gateway.test"}});

    SerializedHead head = splitHead(upstreamHead(request));

    CHECK(valuesOf(head, "Transfer-Encoding").empty());
    CHECK(valuesOf(head, "Content-Length").empty());
  }

  TEST_CASE("Content-Length is preserved") {
    MessageHead request = getRequest({{"Content-Length", "11"}});
    request.method = "POST";
    request.has_content_length = true;
    request.content_length = 11;

    SerializedHead head = splitHead(upstreamHead(request));

    CHECK(valuesOf(head, "Content-Length") == "[11]");
    CHECK(valuesOf(head, "Transfer-Encoding").empty());
  }

  TEST_CASE("Connection cannot strip Content-Length") {
    MessageHead request = getRequest({{"Connection", "Content-Length"}, {"Content-Length", "11"}});
    request.method = "POST";
    request.has_content_length = true;
    request.content_length = 11;

    SerializedHead head = splitHead(upstreamHead(request));

    CHECK(valuesOf(head, "Content-Length") == "[11]");
  }

  TEST_CASE("CN with CRLF cannot add a header") {
    Identity identity = demoIdentity();
    identity.cn = "bad\r\nX-Evil: 1";
    identity.subject = "CN=bad\nX-Evil: 2";
    MessageHead request = getRequest({{"Host", "gateway.test"}});

    SerializedHead head =
        splitHead(buildUpstreamRequestHead(request, identity, ForwardedFor{"192.0.2.7"}));

    CHECK_FALSE(head.has_bare_line_break);
    CHECK(valuesOf(head, "X-Evil").empty());
    CHECK(valuesOf(head, "X-Client-CN") == "[bad%0D%0AX-Evil: 1]");
    CHECK(valuesOf(head, "X-Client-Subject") == "[CN=bad%0AX-Evil: 2]");
  }

  TEST_CASE("hostile SAN values stay one entry") {
    Identity identity = demoIdentity();
    identity.dns = {"a.example"};
    identity.uri = {"spiffe://corp/x, DNS:admin.internal", "spiffe://corp/\"q\"\\"};
    identity.email = {"e@x\r\nX-Evil: 1"};
    identity.ip = {"10.0.0.1"};
    MessageHead request = getRequest({{"Host", "gateway.test"}});

    SerializedHead head =
        splitHead(buildUpstreamRequestHead(request, identity, ForwardedFor{"192.0.2.7"}));

    CHECK_FALSE(head.has_bare_line_break);
    CHECK(valuesOf(head, "X-Evil").empty());
    CHECK(valuesOf(head, "X-Client-SAN") ==
          "[DNS:a.example, URI:spiffe://corp/x%2C DNS:admin.internal, "
          "URI:spiffe://corp/%22q%22%5C, email:e@x%0D%0AX-Evil: 1, IP:10.0.0.1]");
  }

  TEST_CASE("CN and DNs escape commas alike") {
    Identity identity = demoIdentity();
    identity.cn = "Smith, John";
    identity.subject = "CN=Smith\\, John,O=Demo";
    identity.issuer = "CN=CA \\\"one\\\",O=Demo";
    MessageHead request = getRequest({{"Host", "gateway.test"}});

    SerializedHead head =
        splitHead(buildUpstreamRequestHead(request, identity, ForwardedFor{"192.0.2.7"}));

    CHECK(valuesOf(head, "X-Client-CN") == "[Smith%2C John]");
    CHECK(valuesOf(head, "X-Client-Subject") == "[CN=Smith%2C John,O=Demo]");
    CHECK(valuesOf(head, "X-Client-Issuer") == "[CN=CA %22one%22,O=Demo]");
  }

  TEST_CASE("no certificate gives no identity headers") {
    MessageHead request = getRequest({{"Host", "gateway.test"}, {"X-Client-CN", "spoofed"}});

    SerializedHead head =
        splitHead(buildUpstreamRequestHead(request, Identity{}, ForwardedFor{"192.0.2.7"}));

    CHECK(valuesOf(head, "X-Client-CN").empty());
    CHECK(valuesOf(head, "X-Client-Cert-Sha256").empty());
    CHECK(valuesOf(head, "Host") == "[gateway.test]");
  }
}

TEST_SUITE("http.appendUpstreamRequestHead") {
  TEST_CASE("reused connection headers give same head") {
    MessageHead first = getRequest({{"Host", "gateway.test"}, {"X-Client-CN", "spoofed"}});
    MessageHead second = getRequest({{"Host", "gateway.test"}, {"Content-Length", "3"}});
    second.method = "POST";
    second.has_content_length = true;
    second.content_length = 3;
    gw::config::IdentityHeaderNames names;
    std::string connection_headers =
        gw::http::buildConnectionHeaders(demoIdentity(), ForwardedFor{"192.0.2.7"}, names);

    std::string out = "kept";
    gw::http::appendUpstreamRequestHead(&out, first, gw::http::identityHeaderNameList(names),
                                        connection_headers);
    std::string first_expected =
        buildUpstreamRequestHead(first, demoIdentity(), ForwardedFor{"192.0.2.7"}, names);
    CHECK(out == "kept" + first_expected);

    out.clear();
    gw::http::appendUpstreamRequestHead(&out, second, gw::http::identityHeaderNameList(names),
                                        connection_headers);
    CHECK(out ==
          buildUpstreamRequestHead(second, demoIdentity(), ForwardedFor{"192.0.2.7"}, names));
    CHECK(valuesOf(splitHead(out), "Content-Length") == "[3]");
  }

  TEST_CASE("a name that another route configures is removed too") {
    MessageHead request =
        getRequest({{"Host", "gateway.test"}, {"X-User", "alice"}, {"x_team", "admins"}});
    gw::config::IdentityHeaderNames names;  // this route uses the defaults
    std::string out;

    gw::http::appendUpstreamRequestHead(
        &out, request, {"X-User", "X-Team"},
        gw::http::buildConnectionHeaders(demoIdentity(), ForwardedFor{"192.0.2.7"}, names));

    auto headers = splitHead(out);
    CHECK(valuesOf(headers, "X-User").empty());
    CHECK(valuesOf(headers, "x_team").empty());
    CHECK(valuesOf(headers, "Host") == "[gateway.test]");
  }

  TEST_CASE("connection headers carry identity") {
    gw::config::IdentityHeaderNames names;

    std::string lines =
        gw::http::buildConnectionHeaders(demoIdentity(), ForwardedFor{"192.0.2.7"}, names);

    CHECK(lines.find("X-Forwarded-For: 192.0.2.7\r\n") != std::string::npos);
    CHECK(lines.find("X-Client-CN: good-client\r\n") != std::string::npos);
    CHECK(lines.find("\r\n\r\n") == std::string::npos);
    CHECK(lines.substr(lines.size() - 2) == "\r\n");
  }
}

TEST_SUITE("http.buildClientResponseHead") {
  TEST_CASE("HEAD response has no body") {
    ResponseFraming framing = ResponseFraming::Chunked;
    MessageHead upstream = response(200, {{"Content-Length", "42"}});
    upstream.has_content_length = true;
    upstream.content_length = 42;

    SerializedHead head = splitHead(buildClientResponseHead(upstream, true, 1, false, &framing));

    CHECK(framing == ResponseFraming::None);
    CHECK(valuesOf(head, "Content-Length") == "[42]");
    CHECK(valuesOf(head, "Transfer-Encoding").empty());
  }

  TEST_CASE("204 and 304 have no body") {
    for (int status : {204, 304}) {
      CAPTURE(status);
      ResponseFraming framing = ResponseFraming::Chunked;

      SerializedHead head =
          splitHead(buildClientResponseHead(response(status, {}), false, 1, false, &framing));

      CHECK(framing == ResponseFraming::None);
      CHECK(valuesOf(head, "Transfer-Encoding").empty());
    }
  }

  TEST_CASE("1xx has no body or Connection") {
    ResponseFraming framing = ResponseFraming::Chunked;

    SerializedHead head =
        splitHead(buildClientResponseHead(response(100, {}), false, 1, true, &framing));

    CHECK(head.start_line == "HTTP/1.1 100 Continue");
    CHECK(framing == ResponseFraming::None);
    CHECK(valuesOf(head, "Connection").empty());
  }

  TEST_CASE("chunked response stays chunked") {
    ResponseFraming framing = ResponseFraming::None;
    MessageHead upstream = response(200, {{"Transfer-Encoding", "chunked"}});
    upstream.chunked = true;

    SerializedHead head = splitHead(buildClientResponseHead(upstream, false, 1, false, &framing));

    CHECK(framing == ResponseFraming::Chunked);
    CHECK(valuesOf(head, "Transfer-Encoding") == "[chunked]");
  }

  TEST_CASE("Content-Length response keeps length") {
    ResponseFraming framing = ResponseFraming::None;
    MessageHead upstream = response(200, {{"Content-Length", "5"}});
    upstream.has_content_length = true;
    upstream.content_length = 5;

    SerializedHead head = splitHead(buildClientResponseHead(upstream, false, 1, false, &framing));

    CHECK(framing == ResponseFraming::ContentLength);
    CHECK(valuesOf(head, "Content-Length") == "[5]");
    CHECK(valuesOf(head, "Transfer-Encoding").empty());
    CHECK(valuesOf(head, "Connection").empty());
  }

  TEST_CASE("unframed body is chunked for HTTP/1.1") {
    ResponseFraming framing = ResponseFraming::None;

    SerializedHead head =
        splitHead(buildClientResponseHead(response(200, {}), false, 1, false, &framing));

    CHECK(framing == ResponseFraming::Chunked);
    CHECK(valuesOf(head, "Transfer-Encoding") == "[chunked]");
    CHECK(valuesOf(head, "Connection").empty());
  }

  TEST_CASE("unframed body ends by close for HTTP/1.0") {
    ResponseFraming framing = ResponseFraming::None;

    SerializedHead head =
        splitHead(buildClientResponseHead(response(200, {}), false, 0, false, &framing));

    CHECK(framing == ResponseFraming::UntilClose);
    CHECK(valuesOf(head, "Connection") == "[close]");
    CHECK(valuesOf(head, "Transfer-Encoding").empty());
  }

  TEST_CASE("close adds Connection: close once") {
    ResponseFraming framing = ResponseFraming::None;
    MessageHead upstream =
        response(200, {{"Connection", "close"}, {"Content-Length", "0"}, {"Keep-Alive", "5"}});
    upstream.has_content_length = true;

    SerializedHead head = splitHead(buildClientResponseHead(upstream, false, 1, true, &framing));

    CHECK(valuesOf(head, "Connection") == "[close]");
    CHECK(valuesOf(head, "Keep-Alive").empty());
  }

  TEST_CASE("upstream hop-by-hop headers are removed") {
    ResponseFraming framing = ResponseFraming::None;
    MessageHead upstream = response(200, {{"Connection", "keep-alive, X-Upstream-Hop"},
                                          {"X-Upstream-Hop", "1"},
                                          {"Upgrade", "h2c"},
                                          {"Trailer", "X-Sum"},
                                          {"Proxy-Authenticate", "Basic"},
                                          {"Content-Type", "text/plain"},
                                          {"Content-Length", "0"}});
    upstream.has_content_length = true;

    SerializedHead head = splitHead(buildClientResponseHead(upstream, false, 1, false, &framing));

    CHECK(namesOf(head) == "[Content-Type][Content-Length]");
  }

  TEST_CASE("status line uses upstream reason") {
    ResponseFraming framing = ResponseFraming::None;
    MessageHead upstream = response(404, {});
    upstream.reason = "Nothing Here";

    SerializedHead head = splitHead(buildClientResponseHead(upstream, false, 1, false, &framing));

    CHECK(head.start_line == "HTTP/1.1 404 Nothing Here");
  }

  TEST_CASE("status line gets standard reason") {
    ResponseFraming framing = ResponseFraming::None;

    SerializedHead ok =
        splitHead(buildClientResponseHead(response(200, {}), false, 1, false, &framing));
    SerializedHead odd =
        splitHead(buildClientResponseHead(response(299, {}), false, 1, false, &framing));

    CHECK(ok.start_line == "HTTP/1.1 200 OK");
    CHECK(odd.start_line == "HTTP/1.1 299 Unknown");
  }
}

TEST_SUITE("http.encodeChunk") {
  TEST_CASE("chunk has hex size and CRLFs") {
    CHECK(encodeChunk("hello") == "5\r\nhello\r\n");
    CHECK(encodeChunk(std::string(255, 'x')) == "ff\r\n" + std::string(255, 'x') + "\r\n");
    CHECK(encodeChunk(std::string(4096, 'x')).starts_with("1000\r\n"));
  }

  TEST_CASE("empty data gives no chunk") {
    CHECK(encodeChunk("") == "");
    CHECK(gw::http::kLastChunk == "0\r\n\r\n");
  }
}

TEST_SUITE("http.buildLocalReply") {
  TEST_CASE("local reply is a complete response") {
    SerializedHead reply = splitHead(buildLocalReply(403, "Forbidden\n", false));

    CHECK(reply.start_line == "HTTP/1.1 403 Forbidden");
    CHECK(valuesOf(reply, "Content-Type") == "[text/plain; charset=utf-8]");
    CHECK(valuesOf(reply, "Content-Length") == "[10]");
    CHECK(valuesOf(reply, "Cache-Control") == "[no-store]");
    CHECK(valuesOf(reply, "Connection").empty());
    CHECK(reply.has_blank_line);
    CHECK(reply.rest == "Forbidden\n");
  }

  TEST_CASE("close adds Connection: close") {
    SerializedHead reply = splitHead(buildLocalReply(400, "Bad request\n", true));

    CHECK(reply.start_line == "HTTP/1.1 400 Bad Request");
    CHECK(valuesOf(reply, "Connection") == "[close]");
  }

  TEST_CASE("Content-Length counts bytes") {
    SerializedHead reply = splitHead(buildLocalReply(404, "caf\xC3\xA9", false));

    CHECK(valuesOf(reply, "Content-Length") == "[5]");
    CHECK(reply.rest == "caf\xC3\xA9");
  }

  TEST_CASE("empty body has length 0") {
    SerializedHead reply = splitHead(buildLocalReply(502, "", false));

    CHECK(reply.start_line == "HTTP/1.1 502 Bad Gateway");
    CHECK(valuesOf(reply, "Content-Length") == "[0]");
    CHECK(reply.rest.empty());
  }
}
