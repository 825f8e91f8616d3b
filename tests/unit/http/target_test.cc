#include "gateway/http/target.h"

#include <string>

#include <doctest/doctest.h>

using gw::http::checkTarget;
using gw::http::TargetCheck;

TEST_SUITE("http.checkTarget") {
  TEST_CASE("origin-form targets are accepted") {
    struct Case {
      std::string target;
      std::string path;
    };
    const Case cases[] = {
        {"/", "/"},
        {"/secret", "/secret"},
        {"/secret/", "/secret/"},
        {"/a/b?x=1", "/a/b"},
        {"/a?", "/a"},
        {"/a?x=/../y", "/a"},
        {"/a%20b", "/a%20b"},
        {"/a%7Eb", "/a~b"},
        {"/a%7eb", "/a~b"},
        {"/%73ecret", "/secret"},
        {"/sec%72et/x", "/secret/x"},
        {"/a%2a", "/a%2A"},
        {"/a%C3%A9", "/a%C3%A9"},
        {"/a.b/c..d/...", "/a.b/c..d/..."},
        {"/%41", "/A"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.target);
      TargetCheck check = checkTarget(c.target);
      CHECK(check.ok);
      CHECK(check.path == c.path);
      CHECK(check.reason.empty());
    }
  }

  TEST_CASE("normalized target keeps the query") {
    TargetCheck check = checkTarget("/%73ecret?q=%73");
    CHECK(check.ok);
    CHECK(check.target == "/secret?q=%73");
  }

  TEST_CASE("matrix parameter is rejected") {
    CHECK_FALSE(checkTarget("/secret;x").ok);
    CHECK_FALSE(checkTarget("/secret;jsessionid=1/a").ok);
    CHECK(checkTarget("/secret?a;b").ok);
  }

  TEST_CASE("Host header values") {
    struct Case {
      std::string value;
      bool ok;
      std::string host;
    };
    const Case cases[] = {
        {"Example.COM", true, "example.com"},
        {"example.com:4443", true, "example.com"},
        {"admin.localhost.", true, "admin.localhost"},
        {"[::1]:4443", true, "[::1]"},
        {"", false, ""},
        {":4443", false, ""},
        {"[x", false, ""},
        {"a, b", false, ""},
        {"a b", false, ""},
        {"a:80x", false, ""},
        {"a/b", false, ""},
    };
    for (const Case& c : cases) {
      CAPTURE(c.value);
      gw::http::HostCheck check = gw::http::checkHostHeader(c.value);
      CHECK(check.ok == c.ok);
      CHECK(check.host == c.host);
    }
  }

  TEST_CASE("unsafe targets are rejected") {
    const std::string cases[] = {
        "",          "*",
        "http://x/", "example.com:443",
        "a/b",       "/a/../b",
        "/./a",      "/a/.",
        "/a/..",     "/..",
        "//a",       "/a//b",
        "/a/b//",    "/a%2fb",
        "/a%2Fb",    "/a%2F..",
        "/%2e%2e/",  "/%2E%2E/x",
        "/a/%2e/b",  "/a%5cb",
        "/a%5Cb",    "/a%25b",
        "/a\\b",     "/a%00",
        "/a%0d%0a",  "/a%7f",
        "/a%zz",     "/a%g0",
        "/a%2",      "/a%",
        "/a#frag",   "/a b",
        "/a\tb",     "/a\rb",
        "/a\nb",     "/a\x01",
        "/a\x7f",    std::string("/a\0b", 4),
        "/a?x=1 2",  "/a?x=\\",
    };
    for (const std::string& target : cases) {
      CAPTURE(target);
      TargetCheck check = checkTarget(target);
      CHECK_FALSE(check.ok);
      CHECK_FALSE(check.reason.empty());
      CHECK(check.path.empty());
    }
  }

  TEST_CASE("rejection reason names the problem") {
    CHECK(checkTarget("*").reason == "request target must be a path starting with '/'");
    CHECK(checkTarget("/a/../b").reason == "dot segment in path");
    CHECK(checkTarget("/a//b").reason == "empty segment ('//') in path");
    CHECK(checkTarget("/a%2").reason == "truncated percent-encoding");
    CHECK(checkTarget("/a%zz").reason == "invalid percent-encoding");
    CHECK(checkTarget("/a#frag").reason == "fragment in request target");
  }
}
