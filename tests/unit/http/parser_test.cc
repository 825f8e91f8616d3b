#include "gateway/http/parser.h"

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "gateway/http/rewrite.h"

namespace {

using gw::http::FeedResult;
using gw::http::HeadAction;
using gw::http::MessageHead;
using gw::http::MessageKind;
using gw::http::Parser;
using gw::http::ParserHandler;
using gw::http::ParseStatus;

constexpr size_t kMaxHeaderBytes = 1024;

// RecordingHandler keeps every head, the body of each message and the
// number of completed messages, and returns |head_action| for every head.
class RecordingHandler : public ParserHandler {
 public:
  HeadAction onHead(MessageHead& head) override {
    heads.push_back(head);
    bodies.emplace_back();
    return head_action;
  }

  void onBody(std::string_view data) override {
    body_calls++;
    if (bodies.empty()) {
      bodies.emplace_back();
    }
    bodies.back().append(data);
  }

  void onMessageComplete() override { completed++; }

  HeadAction head_action = HeadAction::Continue;
  std::vector<MessageHead> heads;
  std::vector<std::string> bodies;
  int body_calls = 0;
  int completed = 0;
};

// headerNames returns the names of |head|'s headers, each in brackets, so
// that a failed check prints them.
std::string headerNames(const MessageHead& head) {
  std::string names;
  for (const gw::http::Header& header : head.headers) {
    names += "[" + header.name + "]";
  }
  return names;
}

// parseRequest feeds |input| to a fresh request parser in one call and
// returns the status.
ParseStatus parseRequest(std::string_view input, RecordingHandler* handler) {
  Parser parser(MessageKind::Request, handler, kMaxHeaderBytes);
  return parser.feed(input).status;
}

constexpr std::string_view kGet =
    "GET /secret?x=1 HTTP/1.1\r\n"
    "Host: gateway.test\r\n"
    "Accept: */*\r\n"
    "X-Dup: 1\r\n"
    "x-dup: 2\r\n"
    "\r\n";

}  // namespace

TEST_SUITE("http.Parser") {
  TEST_CASE("simple GET head is parsed") {
    RecordingHandler handler;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);

    FeedResult result = parser.feed(kGet);

    CHECK(result.status == ParseStatus::Paused);
    CHECK(result.used == kGet.size());
    REQUIRE(handler.heads.size() == 1);
    const MessageHead& head = handler.heads[0];
    CHECK(head.method == "GET");
    CHECK(head.target == "/secret?x=1");
    CHECK(head.version_major == 1);
    CHECK(head.version_minor == 1);
    CHECK(headerNames(head) == "[Host][Accept][X-Dup][x-dup]");
    REQUIRE(head.headers.size() == 4);
    CHECK(head.headers[0].value == "gateway.test");
    CHECK(head.headers[2].value == "1");
    CHECK(head.headers[3].value == "2");
    CHECK(head.keep_alive);
    CHECK_FALSE(head.chunked);
    CHECK_FALSE(head.has_content_length);
    CHECK_FALSE(head.upgrade);
    CHECK(handler.completed == 1);
    CHECK(handler.body_calls == 0);
    CHECK_FALSE(parser.inMessage());
  }

  TEST_CASE("HTTP/1.0 and close end keep-alive") {
    RecordingHandler handler;

    CHECK(parseRequest("GET / HTTP/1.0\r\n\r\n", &handler) == ParseStatus::Paused);
    CHECK(parseRequest("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", &handler) ==
          ParseStatus::Paused);
    CHECK(parseRequest("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &handler) ==
          ParseStatus::Paused);

    REQUIRE(handler.heads.size() == 3);
    CHECK(handler.heads[0].version_minor == 0);
    CHECK_FALSE(handler.heads[0].keep_alive);
    CHECK_FALSE(handler.heads[1].keep_alive);
    CHECK(handler.heads[2].keep_alive);
  }

  TEST_CASE("pipelined requests pause after each") {
    RecordingHandler handler;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);
    std::string second = "GET /second HTTP/1.1\r\nHost: gateway.test\r\n\r\n";
    std::string input = std::string(kGet) + second;

    FeedResult first_result = parser.feed(input);

    CHECK(first_result.status == ParseStatus::Paused);
    CHECK(first_result.used == kGet.size());
    CHECK(handler.completed == 1);
    CHECK(handler.heads.size() == 1);

    parser.resume();
    FeedResult second_result = parser.feed(std::string_view(input).substr(first_result.used));

    CHECK(second_result.status == ParseStatus::Paused);
    CHECK(second_result.used == second.size());
    CHECK(handler.completed == 2);
    REQUIRE(handler.heads.size() == 2);
    CHECK(handler.heads[1].target == "/second");
    CHECK(headerNames(handler.heads[1]) == "[Host]");
  }

  TEST_CASE("next message starts with empty head") {
    RecordingHandler handler;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);
    std::string second = "POST /b HTTP/1.1\r\nHost: other.test\r\nContent-Length: 2\r\n\r\nhi";

    FeedResult first_result = parser.feed(kGet);
    REQUIRE(first_result.status == ParseStatus::Paused);
    parser.resume();
    FeedResult second_result = parser.feed(second);

    CHECK(second_result.status == ParseStatus::Paused);
    REQUIRE(handler.heads.size() == 2);
    const MessageHead& head = handler.heads[1];
    CHECK(head.method == "POST");
    CHECK(head.target == "/b");
    CHECK(headerNames(head) == "[Host][Content-Length]");
    REQUIRE(head.headers.size() == 2);
    CHECK(head.headers[0].value == "other.test");
    CHECK(head.has_content_length);
    CHECK(head.content_length == 2);
    CHECK(handler.bodies[1] == "hi");
  }

  TEST_CASE("head split into 1-byte feeds") {
    RecordingHandler handler;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);

    for (size_t i = 0; i + 1 < kGet.size(); i++) {
      CAPTURE(i);
      FeedResult result = parser.feed(kGet.substr(i, 1));
      REQUIRE(result.status == ParseStatus::Ok);
      CHECK(result.used == 1);
    }
    CHECK(parser.inMessage());
    CHECK(handler.heads.empty());
    FeedResult last = parser.feed(kGet.substr(kGet.size() - 1));

    CHECK(last.status == ParseStatus::Paused);
    CHECK(last.used == 1);
    REQUIRE(handler.heads.size() == 1);
    CHECK(handler.heads[0].target == "/secret?x=1");
    CHECK(headerNames(handler.heads[0]) == "[Host][Accept][X-Dup][x-dup]");
    CHECK(handler.heads[0].headers[0].value == "gateway.test");
    CHECK(handler.completed == 1);
  }

  TEST_CASE("empty feed uses nothing") {
    RecordingHandler handler;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);

    FeedResult result = parser.feed("");

    CHECK(result.status == ParseStatus::Ok);
    CHECK(result.used == 0);
    CHECK_FALSE(parser.inMessage());
  }

  TEST_CASE("chunked body is decoded in pieces") {
    RecordingHandler handler;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);
    std::string input =
        "POST /upload HTTP/1.1\r\nHost: gateway.test\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n";

    FeedResult result{ParseStatus::Ok, 0};
    size_t offset = 0;
    while (offset < input.size() && result.status == ParseStatus::Ok) {
      result = parser.feed(std::string_view(input).substr(offset, 3));
      offset += result.used;
    }

    CHECK(result.status == ParseStatus::Paused);
    CHECK(offset == input.size());
    REQUIRE(handler.heads.size() == 1);
    CHECK(handler.heads[0].chunked);
    CHECK_FALSE(handler.heads[0].has_content_length);
    CHECK(handler.bodies[0] == "hello world");
    CHECK(handler.body_calls > 1);
    CHECK(handler.completed == 1);
  }

  TEST_CASE("Content-Length body is delivered") {
    RecordingHandler handler;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);
    std::string head = "POST /upload HTTP/1.1\r\nHost: gateway.test\r\nContent-Length: 11\r\n\r\n";

    FeedResult first = parser.feed(head + "hello");

    CHECK(first.status == ParseStatus::Ok);
    CHECK(handler.completed == 0);
    CHECK(parser.inMessage());
    REQUIRE(handler.heads.size() == 1);
    CHECK(handler.heads[0].has_content_length);
    CHECK(handler.heads[0].content_length == 11);

    FeedResult second = parser.feed(" worldGET");

    CHECK(second.status == ParseStatus::Paused);
    CHECK(second.used == 6);
    CHECK(handler.bodies[0] == "hello world");
    CHECK(handler.completed == 1);
  }

  TEST_CASE("obs-fold is rejected") {
    RecordingHandler handler;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);

    FeedResult result = parser.feed("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n folded\r\n\r\n");

    CHECK(result.status == ParseStatus::Error);
    CHECK(parser.errorReason().find("obs-fold") != std::string::npos);
    CHECK(handler.heads.empty());
  }

  TEST_CASE("obs-fold is rejected when the buffer ends at the line break") {
    RecordingHandler handler;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);

    CHECK(parser.feed("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n").status == ParseStatus::Ok);
    FeedResult result = parser.feed(" folded\r\n\r\n");

    CHECK(result.status == ParseStatus::Error);
    CHECK(parser.errorReason().find("obs-fold") != std::string::npos);
  }

  TEST_CASE("obs-fold after an empty first line split at the line break is rejected") {
    RecordingHandler handler;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);

    CHECK(parser.feed("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n").status ==
          ParseStatus::Ok);
    FeedResult result = parser.feed(" chunked\r\n\r\n0\r\n\r\n");

    CHECK(result.status == ParseStatus::Error);
    CHECK(parser.errorReason().find("obs-fold") != std::string::npos);
  }

  TEST_CASE("obs-fold after an empty first line is rejected") {
    RecordingHandler handler;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);

    FeedResult result = parser.feed(
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n");

    CHECK(result.status == ParseStatus::Error);
    CHECK(parser.errorReason().find("obs-fold") != std::string::npos);
  }

  TEST_CASE("headers split across feeds at line ends are kept") {
    RecordingHandler handler;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);

    CHECK(parser.feed("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n").status == ParseStatus::Ok);
    CHECK(parser.feed("X-B: 2\r\n").status == ParseStatus::Ok);
    FeedResult result = parser.feed("\r\n");

    CHECK(result.status != ParseStatus::Error);
    REQUIRE(handler.heads.size() == 1);
    CHECK(handler.heads[0].headers.size() == 3);
  }

  TEST_CASE("a value split across feeds before a space is kept") {
    RecordingHandler handler;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);

    CHECK(parser.feed("GET / HTTP/1.1\r\nHost: a\r\nX-A: one").status == ParseStatus::Ok);
    FeedResult result = parser.feed(" two\r\n\r\n");

    CHECK(result.status != ParseStatus::Error);
    REQUIRE(handler.heads.size() == 1);
    const std::string* value = handler.heads[0].find("X-A");
    REQUIRE(value != nullptr);
    CHECK(*value == "one two");
  }

  TEST_CASE("header section over limit is rejected") {
    RecordingHandler handler;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);
    std::string input =
        "GET / HTTP/1.1\r\nX-Big: " + std::string(kMaxHeaderBytes, 'a') + "\r\n\r\n";

    FeedResult result = parser.feed(input);

    CHECK(result.status == ParseStatus::Error);
    CHECK(parser.headerTooLarge());
    CHECK_FALSE(parser.targetTooLong());
    CHECK(parser.errorReason() == "header section too large");
    CHECK(handler.heads.empty());
  }

  TEST_CASE("long target counts toward limit") {
    RecordingHandler handler;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);
    std::string input = "GET /" + std::string(kMaxHeaderBytes, 'a') + " HTTP/1.1\r\n\r\n";

    FeedResult result = parser.feed(input);

    CHECK(result.status == ParseStatus::Error);
    CHECK(parser.headerTooLarge());
    CHECK(parser.targetTooLong());
  }

  TEST_CASE("head within limit is accepted") {
    RecordingHandler handler;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);
    std::string input =
        "GET / HTTP/1.1\r\nX-Big: " + std::string(kMaxHeaderBytes / 2, 'a') + "\r\n\r\n";

    FeedResult result = parser.feed(input);

    CHECK(result.status == ParseStatus::Paused);
    CHECK_FALSE(parser.headerTooLarge());
  }

  TEST_CASE("limit resets for each message") {
    RecordingHandler handler;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);
    std::string one =
        "GET / HTTP/1.1\r\nX-Big: " + std::string(kMaxHeaderBytes * 3 / 4, 'a') + "\r\n\r\n";

    CHECK(parser.feed(one).status == ParseStatus::Paused);
    parser.resume();
    CHECK(parser.feed(one).status == ParseStatus::Paused);
    CHECK(handler.completed == 2);
  }

  TEST_CASE("many short header lines hit limit") {
    RecordingHandler handler;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);
    // Each "X:" line is 4 bytes on the wire, and 1000 of them are about
    // four times the limit.
    std::string input = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 1000; i++) {
      input += "X:\r\n";
    }
    input += "\r\n";
    REQUIRE(input.size() > 3 * kMaxHeaderBytes);

    FeedResult result = parser.feed(input);

    CHECK(result.status == ParseStatus::Error);
    CHECK(parser.headerTooLarge());
  }

  TEST_CASE("request smuggling inputs are rejected") {
    const std::string cases[] = {
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\nhello!",
        "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello",
        "POST / HTTP/1.1\r\nContent-Length: 5x\r\n\r\nhello",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nabc",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        std::string("GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n", 29),
        "GET / HTTP/1.1\r\n Host: gateway.test\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length : 3\r\n\r\nabc",
        "POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
        "GET / HTTP/1.1\r\nX-A\t: 1\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: gateway.test\nX-A: 1\r\n\r\n",
        "GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n",
        "GET /a b HTTP/1.1\r\n\r\n",
    };
    for (const std::string& input : cases) {
      CAPTURE(input);
      RecordingHandler handler;
      Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);

      FeedResult result = parser.feed(input);

      CHECK(result.status == ParseStatus::Error);
      CHECK_FALSE(parser.errorReason().empty());
      CHECK_FALSE(parser.headerTooLarge());
      CHECK(handler.completed == 0);
    }
  }

  // NOTE: llhttp 8.1 unfolds obs-fold into the value instead of rejecting it.
  TEST_CASE("obs-fold value has no line break") {
    RecordingHandler handler;

    ParseStatus status =
        parseRequest("GET / HTTP/1.1\r\nX-A: 1\r\n continued\r\nX-B: 2\r\n\r\n", &handler);

    CHECK(status != ParseStatus::Ok);
    if (status == ParseStatus::Paused) {
      REQUIRE(handler.heads.size() == 1);
      CHECK(headerNames(handler.heads[0]) == "[X-A][X-B]");
      CHECK(handler.heads[0].headers[0].value == "1 continued");
      CHECK(handler.heads[0].headers[0].value.find_first_of("\r\n") == std::string::npos);
    }
  }

  TEST_CASE("whitespace before colon is rejected") {
    const std::string cases[] = {
        "GET / HTTP/1.1\r\nHost : gateway.test\r\n\r\n",
        "GET / HTTP/1.1\r\nX-Forwarded-For : 203.0.113.9\r\n\r\n",
    };
    for (const std::string& input : cases) {
      CAPTURE(input);
      RecordingHandler handler;

      CHECK(parseRequest(input, &handler) == ParseStatus::Error);
    }
  }

  TEST_CASE("bare LF after header value is rejected") {
    const std::string cases[] = {
        "GET / HTTP/1.1\nHost: gateway.test\n\n",
        "GET / HTTP/1.1\r\nHost: gateway.test\n\r\n",
    };
    for (const std::string& input : cases) {
      CAPTURE(input);
      RecordingHandler handler;

      CHECK(parseRequest(input, &handler) == ParseStatus::Error);
    }
  }

  TEST_CASE("rejecting handler stops with Error") {
    RecordingHandler handler;
    handler.head_action = HeadAction::Reject;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);

    FeedResult result = parser.feed(kGet);

    CHECK(result.status == ParseStatus::Error);
    CHECK_FALSE(parser.errorReason().empty());
    CHECK_FALSE(parser.headerTooLarge());
    CHECK(handler.heads.size() == 1);
    CHECK(handler.completed == 0);
  }

  TEST_CASE("rejection reason names the handler") {
    RecordingHandler handler;
    handler.head_action = HeadAction::Reject;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);

    parser.feed(kGet);

    CHECK(parser.errorReason() == "rejected by handler");
  }

  TEST_CASE("upgrade stops after the head") {
    RecordingHandler handler;
    handler.head_action = HeadAction::Upgrade;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);
    std::string head =
        "GET /ws HTTP/1.1\r\nHost: gateway.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        "\r\n";

    FeedResult result = parser.feed(head + "\x81\x05hello");

    CHECK(result.status == ParseStatus::Upgrade);
    CHECK(result.used == head.size());
    REQUIRE(handler.heads.size() == 1);
    CHECK(handler.heads[0].upgrade);
    CHECK(handler.body_calls == 0);
  }

  TEST_CASE("upgrade request stops at head end") {
    RecordingHandler handler;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);
    std::string head =
        "GET /ws HTTP/1.1\r\nHost: gateway.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        "\r\n";

    FeedResult result = parser.feed(head + "GET /next HTTP/1.1\r\n\r\n");

    CHECK(result.status != ParseStatus::Ok);
    CHECK(result.status != ParseStatus::Error);
    CHECK(result.used == head.size());
    REQUIRE(handler.heads.size() == 1);
    CHECK(handler.heads[0].upgrade);
    CHECK(handler.heads[0].target == "/ws");
  }

  TEST_CASE("response head is parsed") {
    RecordingHandler handler;
    Parser parser(MessageKind::Response, &handler, kMaxHeaderBytes);
    std::string input =
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nnope";

    FeedResult result = parser.feed(input);

    CHECK(result.status == ParseStatus::Paused);
    CHECK(result.used == input.size());
    REQUIRE(handler.heads.size() == 1);
    CHECK(handler.heads[0].status == 404);
    CHECK(handler.heads[0].reason == "Not Found");
    CHECK(handler.heads[0].method.empty());
    CHECK(handler.heads[0].content_length == 4);
    CHECK(handler.bodies[0] == "nope");
  }

  TEST_CASE("HEAD response skips its body") {
    RecordingHandler handler;
    handler.head_action = HeadAction::SkipBody;
    Parser parser(MessageKind::Response, &handler, kMaxHeaderBytes);
    std::string first = "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n";
    std::string second = "HTTP/1.1 204 No Content\r\n\r\n";
    std::string input = first + second;

    FeedResult result = parser.feed(input);

    CHECK(result.status == ParseStatus::Paused);
    CHECK(result.used == first.size());
    CHECK(handler.completed == 1);
    CHECK(handler.body_calls == 0);
    REQUIRE(handler.heads.size() == 1);
    CHECK(handler.heads[0].content_length == 42);

    parser.resume();
    FeedResult next = parser.feed(std::string_view(input).substr(result.used));

    CHECK(next.status == ParseStatus::Paused);
    REQUIRE(handler.heads.size() == 2);
    CHECK(handler.heads[1].status == 204);
  }

  TEST_CASE("204 and 304 with Content-Length have no body") {
    RecordingHandler handler;
    Parser parser(MessageKind::Response, &handler, kMaxHeaderBytes);
    std::string no_content = "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n";
    std::string not_modified = "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n";
    std::string input = no_content + not_modified;

    FeedResult result = parser.feed(input);

    CHECK(result.status == ParseStatus::Paused);
    CHECK(result.used == no_content.size());
    parser.resume();
    FeedResult next = parser.feed(std::string_view(input).substr(result.used));
    CHECK(next.status == ParseStatus::Paused);
    CHECK(next.used == not_modified.size());
    CHECK(handler.completed == 2);
    CHECK(handler.body_calls == 0);
    REQUIRE(handler.heads.size() == 2);
    CHECK(handler.heads[1].content_length == 10);
  }

  TEST_CASE("unframed response ends at finish") {
    RecordingHandler handler;
    Parser parser(MessageKind::Response, &handler, kMaxHeaderBytes);

    FeedResult result = parser.feed("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome ");
    FeedResult more = parser.feed("body");

    CHECK(result.status == ParseStatus::Ok);
    CHECK(more.status == ParseStatus::Ok);
    CHECK(handler.completed == 0);
    CHECK(parser.inMessage());
    REQUIRE(handler.heads.size() == 1);
    CHECK_FALSE(handler.heads[0].has_content_length);
    CHECK_FALSE(handler.heads[0].chunked);

    CHECK(parser.finish() == ParseStatus::Ok);
    CHECK(handler.completed == 1);
    CHECK(handler.bodies[0] == "some body");
    CHECK_FALSE(parser.inMessage());
  }

  TEST_CASE("finish mid-body is an error") {
    RecordingHandler handler;
    Parser parser(MessageKind::Response, &handler, kMaxHeaderBytes);

    CHECK(parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").status ==
          ParseStatus::Ok);

    CHECK(parser.finish() == ParseStatus::Error);
    CHECK_FALSE(parser.errorReason().empty());
    CHECK(handler.completed == 0);
  }

  TEST_CASE("finish between messages is fine") {
    RecordingHandler handler;
    Parser parser(MessageKind::Request, &handler, kMaxHeaderBytes);

    CHECK(parser.finish() == ParseStatus::Ok);
    CHECK(handler.completed == 0);
  }
}

TEST_SUITE("http parser header names") {
  TEST_CASE("empty header name is rejected") {
    struct Recorder : gw::http::ParserHandler {
      int heads = 0;
      gw::http::HeadAction onHead(gw::http::MessageHead&) override {
        heads++;
        return gw::http::HeadAction::Continue;
      }
      void onBody(std::string_view) override {}
      void onMessageComplete() override {}
    } handler;
    gw::http::Parser parser(gw::http::MessageKind::Request, &handler, 16 * 1024);

    gw::http::FeedResult result = parser.feed("GET / HTTP/1.1\r\nHost: a\r\n: no-name\r\n\r\n");

    CHECK(result.status == gw::http::ParseStatus::Error);
    CHECK(parser.errorReason() == "empty header name");
    CHECK(handler.heads == 0);
  }
}

TEST_SUITE("http parser trailers") {
  TEST_CASE("chunked trailers are kept apart") {
    struct Recorder : gw::http::ParserHandler {
      size_t headers = 0;
      int completed = 0;
      gw::http::HeadAction onHead(gw::http::MessageHead& head) override {
        headers = head.headers.size();
        return gw::http::HeadAction::Continue;
      }
      void onBody(std::string_view) override {}
      void onMessageComplete() override { completed++; }
    } handler;
    gw::http::Parser parser(gw::http::MessageKind::Request, &handler, 16 * 1024);

    gw::http::FeedResult result = parser.feed(
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n0\r\nX-Checksum: 42\r\nX-Other: 1\r\n\r\n");

    CHECK(result.status == gw::http::ParseStatus::Paused);
    CHECK(handler.completed == 1);
    CHECK(handler.headers == 2);
    REQUIRE(parser.trailers().size() == 2);
    CHECK(parser.trailers()[0].name == "X-Checksum");
    CHECK(parser.trailers()[0].value == "42");
    CHECK(parser.trailers()[1].name == "X-Other");
  }
}

TEST_SUITE("http last chunk") {
  TEST_CASE("trailers forwarded, unsafe ones dropped") {
    std::string last = gw::http::buildLastChunk({{"X-Checksum", "42"},
                                                 {"Content-Length", "5"},
                                                 {"X-Client-CN", "admin"},
                                                 {"Connection", "close"},
                                                 {"Host", "evil"}});
    CHECK(last == "0\r\nX-Checksum: 42\r\n\r\n");
  }

  TEST_CASE("no trailers gives the plain last chunk") {
    CHECK(gw::http::buildLastChunk({}) == gw::http::kLastChunk);
  }
}
