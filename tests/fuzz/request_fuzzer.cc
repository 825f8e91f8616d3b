// libFuzzer target for the request path: parse (llhttp), check the target,
// decide, rewrite the head. Besides crashes and sanitizer reports, it
// checks the gateway's promises on every input. The head sent upstream
// carries each identity header exactly once with the gateway's value, has
// no header line the client could have split, and keeps the authorized path.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/http/parser.h"
#include "gateway/http/rewrite.h"
#include "gateway/http/target.h"
#include "gateway/policy/policy.h"

namespace {

void check(bool condition, const char* what) {
  if (!condition) {
    fprintf(stderr, "invariant violated: %s\n", what);
    abort();
  }
}

gw::policy::Policy makePolicy() {
  gw::config::PolicyConfig config;
  gw::config::RouteConfig secret;
  secret.prefix = "/secret";
  secret.upstream = "demo";
  secret.allow_cn = {"good-client"};
  gw::config::RouteConfig root;
  root.prefix = "/";
  root.upstream = "demo";
  root.allow_cn = {"second-client"};
  config.routes = {secret, root};
  return gw::policy::Policy(config);
}

class Handler : public gw::http::ParserHandler {
 public:
  gw::http::HeadAction onHead(gw::http::MessageHead& head) override {
    static const gw::policy::Policy policy = makePolicy();
    gw::policy::Identity identity;
    identity.cn = "second-client";
    identity.subject = "CN=second-client";
    identity.fingerprint_sha256 = std::string(64, 'a');
    gw::http::TargetCheck target = gw::http::checkTarget(head.target);
    if (!target.ok) {
      return gw::http::HeadAction::Continue;
    }
    check(target.path.find("/../") == std::string::npos, "dot segment passed the check");
    gw::policy::Decision decision = policy.decide(identity, target.path);
    if (decision.verdict == gw::policy::Verdict::Allow) {
      check(!gw::policy::prefixMatches("/secret", target.path), "second-client reached /secret");
    }
    std::string out = gw::http::buildUpstreamRequestHead(head, identity, {"192.0.2.1"});
    checkHead(out, head.target);
    return gw::http::HeadAction::Continue;
  }
  void onBody(std::string_view) override {}
  void onMessageComplete() override {}

 private:
  static void checkHead(const std::string& out, const std::string& target) {
    check(out.ends_with("\r\n\r\n"), "head does not end with an empty line");
    size_t line_end = out.find("\r\n");
    check(out.substr(0, line_end).find(target) != std::string::npos, "target changed");
    int cn_headers = 0;
    size_t start = line_end + 2;
    while (start < out.size() - 2) {
      size_t end = out.find("\r\n", start);
      std::string_view line(out.data() + start, end - start);
      check(line.find('\n') == std::string_view::npos && line.find('\r') == std::string_view::npos,
            "bare CR or LF inside a header line");
      size_t colon = line.find(':');
      check(colon != std::string_view::npos && colon > 0, "header line without a name");
      std::string_view name = line.substr(0, colon);
      if (gw::http::isIdentityHeader(name)) {
        check(name.starts_with("X-Client-"), "client identity header survived");
      }
      if (name == "X-Client-CN") {
        cn_headers++;
        check(line == "X-Client-CN: second-client", "X-Client-CN has a client value");
      }
      start = end + 2;
    }
    check(cn_headers == 1, "X-Client-CN not sent exactly once");
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Handler handler;
  gw::http::Parser parser(gw::http::MessageKind::Request, &handler, 16 * 1024);
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // Feed in two pieces so that split reads are exercised too.
  size_t split = size > 0 ? data[0] % (size + 1) : 0;
  for (std::string_view piece : {input.substr(0, split), input.substr(split)}) {
    while (!piece.empty()) {
      gw::http::FeedResult result = parser.feed(piece);
      if (result.status == gw::http::ParseStatus::Error ||
          result.status == gw::http::ParseStatus::Upgrade) {
        return 0;
      }
      piece.remove_prefix(result.used);
      if (result.status == gw::http::ParseStatus::Paused) {
        parser.resume();
      }
    }
  }
  return 0;
}
