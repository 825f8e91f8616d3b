#include "gateway/explain_command.h"

#include <cstdio>
#include <filesystem>
#include <string>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gateway/config/load.h"
#include "gateway/http/rewrite.h"
#include "gateway/http/target.h"
#include "gateway/proxy/runtime.h"
#include "gateway/tls/handshake_failure.h"
#include "gateway/tls/peer_identity.h"

namespace gw {
namespace {

struct ExplainOptions {
  std::string config = "conf/gateway.toml";
  std::string cert;
  std::string host;
  std::string path;
  std::string method = "GET";
};

void printUsage(FILE* out) {
  fprintf(out,
          "Usage: certgate explain [--config FILE] --cert PEM --path PATH [--host HOST]\n"
          "                        [--method METHOD]\n"
          "\n"
          "Shows what the gateway would do with a client presenting the certificate in\n"
          "PEM (leaf first, then any intermediates) and requesting PATH.\n"
          "\n"
          "  --config FILE    gateway configuration (default: conf/gateway.toml)\n"
          "  --cert PEM       client certificate file\n"
          "  --path PATH      request target, for example /secret\n"
          "  --host HOST      TLS server name / Host header (default: none)\n"
          "  --method METHOD  request method (default: GET)\n"
          "\n"
          "Exit status: 0 forwarded, 1 rejected, 2 usage or configuration error.\n");
}

int parseExplainOptions(int argc, char** argv, ExplainOptions* out) {
  for (int i = 0; i < argc; i++) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      printUsage(stdout);
      return 0;
    }
    std::string* target = arg == "--config"   ? &out->config
                          : arg == "--cert"   ? &out->cert
                          : arg == "--host"   ? &out->host
                          : arg == "--path"   ? &out->path
                          : arg == "--method" ? &out->method
                                              : nullptr;
    if (target == nullptr || i + 1 >= argc) {
      fprintf(stderr, "certgate explain: %s '%s'\n",
              target == nullptr ? "unknown option" : "missing value for", arg.c_str());
      printUsage(stderr);
      return 2;
    }
    *target = argv[++i];
  }
  if (out->cert.empty() || out->path.empty()) {
    fprintf(stderr, "certgate explain: --cert and --path are required\n");
    printUsage(stderr);
    return 2;
  }
  return -1;
}

std::string joined(const std::vector<std::string>& values) {
  std::string out;
  for (const std::string& value : values) {
    out += (out.empty() ? "" : ", ") + value;
  }
  return out.empty() ? "-" : out;
}

void printCertificate(const policy::Identity& identity) {
  printf("certificate\n");
  printf("  subject      %s\n", identity.subject.c_str());
  printf("  issuer       %s\n", identity.issuer.c_str());
  printf("  serial       %s\n", identity.serial_hex.c_str());
  printf("  not after    %s\n", identity.not_after.c_str());
  printf("  sha256       %s\n", identity.fingerprint_sha256.c_str());
  printf("  CN           %s%s\n", identity.cn.empty() ? "-" : identity.cn.c_str(),
         identity.cn_ambiguous ? " (more than one CN: CN rules never match)" : "");
  printf("  O / OU       %s / %s\n", joined(identity.o).c_str(), joined(identity.ou).c_str());
  printf("  SAN dns      %s\n", joined(identity.dns).c_str());
  printf("  SAN uri      %s\n", joined(identity.uri).c_str());
  printf("  SAN email    %s\n", joined(identity.email).c_str());
  printf("  SAN ip       %s\n", joined(identity.ip).c_str());
}

// readChain reads every certificate in |path|: the leaf, then intermediates.
bool readChain(const std::string& path, bssl::UniquePtr<X509>* out_leaf,
               bssl::UniquePtr<STACK_OF(X509)>* out_chain) {
  bssl::UniquePtr<BIO> bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    return false;
  }
  out_chain->reset(sk_X509_new_null());
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (!*out_leaf) {
      out_leaf->reset(cert);
    } else {
      sk_X509_push(out_chain->get(), cert);
    }
  }
  return *out_leaf != nullptr;
}

// explainRequest prints the route, rules and headers; it returns the exit
// status.
int explainRequest(const proxy::Runtime& runtime, const ExplainOptions& options,
                   const policy::Identity& identity) {
  http::TargetCheck target = http::checkTarget(options.path);
  if (!target.ok) {
    printf("request      rejected with 400: %s\n", target.reason.c_str());
    return 1;
  }
  std::vector<policy::RuleTrace> trace;
  policy::Decision decision = runtime.policy.decide(identity, options.host, target.path, &trace);
  if (decision.route == nullptr) {
    printf("route        none matches %s: 404 Not found\n", target.path.c_str());
    return 1;
  }
  const policy::Route& route = *decision.route;
  auto upstream = runtime.upstreams.find(route.upstream);
  printf("route        %s %s%s (%s) -> upstream %s (%s)\n",
         route.exact.empty() ? "prefix" : "exact", route.pattern().c_str(),
         route.host.empty() ? "" : (" host " + route.host).c_str(), route.source.c_str(),
         route.upstream.c_str(),
         upstream != runtime.upstreams.end() ? upstream->second.display.c_str() : "?");
  printf("rules        (deny rules first; any deny match wins)\n");
  for (const policy::RuleTrace& step : trace) {
    printf("  %-5s %-40s %s: %s\n", step.deny ? "deny" : "allow", step.rule.c_str(),
           step.matched ? "MATCH" : "no match", step.why.c_str());
  }
  if (trace.empty()) {
    printf("  (the route has no rules)\n");
  }
  if (decision.verdict != policy::Verdict::Allow) {
    printf("decision     DENY: %s -> 403 Access denied: client not authorized\n",
           decision.reason.c_str());
    return 1;
  }
  printf("decision     ALLOW by %s\n", decision.rule.c_str());
  http::MessageHead head;
  head.method = options.method;
  head.target = options.path;
  std::string request = http::buildUpstreamRequestHead(
      head, identity, http::ForwardedFor{"CLIENT-IP"}, route.headers);
  printf("identity headers sent to the upstream\n");
  size_t start = request.find("\r\n") + 2;
  while (start < request.size()) {
    size_t end = request.find("\r\n", start);
    if (end == start || end == std::string::npos) {
      break;
    }
    printf("  %s\n", request.substr(start, end - start).c_str());
    start = end + 2;
  }
  return 0;
}

}  // namespace

int runExplain(int argc, char** argv) {
  ExplainOptions options;
  if (int code = parseExplainOptions(argc, argv, &options); code >= 0) {
    return code;
  }
  auto config = config::loadGatewayConfig(options.config);
  if (!config) {
    fprintf(stderr, "invalid configuration:\n%s\n", config.error().c_str());
    return 2;
  }
  auto runtime = proxy::buildRuntime(std::move(*config));
  if (!runtime) {
    fprintf(stderr, "certgate explain: %s\n", runtime.error().c_str());
    return 2;
  }
  bssl::UniquePtr<X509> leaf;
  bssl::UniquePtr<STACK_OF(X509)> chain;
  std::error_code ec;
  if (!std::filesystem::exists(options.cert, ec)) {
    fprintf(stderr, "certgate explain: %s: file not found; check --cert\n", options.cert.c_str());
    return 2;
  }
  if (std::filesystem::is_directory(options.cert, ec)) {
    fprintf(stderr, "certgate explain: %s: is a directory; --cert needs a PEM certificate file\n",
            options.cert.c_str());
    return 2;
  }
  if (!readChain(options.cert, &leaf, &chain)) {
    fprintf(stderr, "certgate explain: %s: cannot read a PEM certificate\n", options.cert.c_str());
    return 2;
  }
  const proxy::Runtime& loaded = **runtime;
  policy::Identity identity = tls::identityOf(leaf.get());
  printCertificate(identity);

  int verify_error = tls::verifyChain(leaf.get(), chain.get(), loaded.tls.get());
  if (verify_error != X509_V_OK) {
    tls::ConnectionTlsInfo info;
    info.verify_error = verify_error;
    printf("chain check  FAILED against %s: %s (reason %s)\n",
           loaded.config.tls.client_ca_file.c_str(), X509_verify_cert_error_string(verify_error),
           tls::reasonName(tls::classifyFailure(info, 0)));
    printf("decision     rejected in the TLS handshake; no request is read\n");
    return 1;
  }
  printf("chain check  OK against %s%s\n", loaded.config.tls.client_ca_file.c_str(),
         loaded.config.tls.crl_file.empty() ? " (no CRL configured)"
                                            : (" and CRL " + loaded.config.tls.crl_file).c_str());
  return explainRequest(loaded, options, identity);
}

}  // namespace gw
