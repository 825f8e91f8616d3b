#include "gateway/serve_command.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <string>
#include <sys/resource.h>
#include <unistd.h>

#include <uv.h>

#include "gateway/common/log.h"
#include "gateway/config/load.h"
#include "gateway/proxy/admin_server.h"
#include "gateway/proxy/supervisor.h"

namespace gw {
namespace {

constexpr const char* kDefaultConfig = "conf/gateway.toml";
constexpr uint32_t kDrainTimeoutMs = 10'000;

struct Options {
  std::string config = kDefaultConfig;
  std::string log_level;
};

void printServeUsage(FILE* out, const char* command) {
  fprintf(out,
          "Usage: certgate %s [--config FILE] [--log-level LEVEL]\n"
          "\n"
          "  --config FILE      gateway configuration (default: %s)\n"
          "  --log-level LEVEL  debug, info, warn or error (default: the file's\n"
          "                     [server] log_level, else info)\n",
          command, kDefaultConfig);
}

// parseOptions returns -1 to continue, or an exit code.
int parseOptions(int argc, char** argv, const char* command, Options* out) {
  for (int i = 0; i < argc; i++) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      printServeUsage(stdout, command);
      return 0;
    }
    if (arg != "--config" && arg != "--log-level") {
      fprintf(stderr, "certgate %s: unknown option '%s'; valid options: --config, --log-level\n",
              command, arg.c_str());
      printServeUsage(stderr, command);
      return 2;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "certgate %s: missing value for '%s'\n", command, arg.c_str());
      printServeUsage(stderr, command);
      return 2;
    }
    (arg == "--config" ? out->config : out->log_level) = argv[++i];
  }
  log::Level level;
  if (!out->log_level.empty() && !log::parseLevel(out->log_level, &level)) {
    fprintf(stderr, "certgate %s: invalid log level '%s'; use debug, info, warn or error\n",
            command, out->log_level.c_str());
    return 2;
  }
  return -1;
}

std::string urlHost(const std::string& address) {
  size_t colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  if (host == "127.0.0.1" || host == "[::1]") {
    return "localhost" + address.substr(colon);
  }
  return address;
}

// describeAccess returns who a route admits, for the banner: "public",
// "allowed CN: a, b" for routes with only allow_cn, or
// "allowed: 2 rules (issuer, o)" when it has other allow rules.
std::string describeAccess(const policy::Route& route) {
  if (route.is_public) {
    return "public (no client certificate needed, no rules applied)";
  }
  // A policy may list 100,000 CNs; the banner names the first few.
  constexpr size_t kBannerNames = 5;
  std::string names;
  for (size_t i = 0; i < route.allow_cn.size() && i < kBannerNames; i++) {
    names += (names.empty() ? "" : ", ") + route.allow_cn[i];
  }
  if (route.allow_cn.size() > kBannerNames) {
    names += " and " + std::to_string(route.allow_cn.size() - kBannerNames) + " more";
  }
  std::string denied;
  if (!route.deny.empty()) {
    denied = ", denied: " + std::to_string(route.deny.size()) +
             (route.deny.size() == 1 ? " rule" : " rules");
  }
  // |allow| contains one rule per allow_cn entry plus the explicit allow rules.
  if (route.allow.size() == route.allow_cn.size()) {
    return "allowed CN: " + (names.empty() ? std::string("(none: all denied)") : names) + denied;
  }
  std::vector<std::string> fields;
  for (const policy::Rule& rule : route.allow) {
    for (const policy::Condition& condition : rule.conditions) {
      std::string field = policy::fieldName(condition.field);
      if (std::find(fields.begin(), fields.end(), field) == fields.end()) {
        fields.push_back(field);
      }
    }
  }
  std::string field_list;
  for (const std::string& field : fields) {
    field_list += (field_list.empty() ? "" : ", ") + field;
  }
  std::string text = "allowed: " + std::to_string(route.allow.size()) +
                     (route.allow.size() == 1 ? " rule (" : " rules (") + field_list + ")";
  if (!names.empty()) {
    text += ", CN: " + names;
  }
  return text + denied;
}

void printBanner(const proxy::Supervisor& supervisor) {
  const std::vector<std::string>& bound = supervisor.boundAddresses();
  std::vector<std::string> urls;
  for (const std::string& address : bound) {
    std::string url = "https://" + urlHost(address);
    if (std::find(urls.begin(), urls.end(), url) == urls.end()) {
      urls.push_back(url);
    }
  }
  std::string all;
  for (const std::string& address : bound) {
    all += (all.empty() ? "" : ", ") + address;
  }
  for (const std::string& url : urls) {
    printf("certgate listening on %s (%s)\n", url.c_str(), all.c_str());
  }
  const proxy::Runtime& runtime = *supervisor.runtime();
  for (const policy::Route& route : runtime.policy.routes()) {
    std::string address = "?";
    if (auto found = runtime.upstreams.find(route.upstream); found != runtime.upstreams.end()) {
      address = found->second.display;
    }
    printf("route %s%s -> upstream %s (%s), %s\n", route.exact.empty() ? "" : "= ",
           route.pattern().c_str(), route.upstream.c_str(), address.c_str(),
           describeAccess(route).c_str());
  }
  if (runtime.config.tls.client_cert == "request") {
    printf(
        "everything else: 404; clients without a certificate complete the TLS handshake and "
        "reach only public routes, and certificates that do not chain to the configured CA "
        "are rejected in the handshake\n");
  } else {
    printf(
        "everything else: 404; clients without a certificate from the configured CA are "
        "rejected in the TLS handshake\n");
  }
  fflush(stdout);
}

struct SignalContext {
  proxy::Supervisor* supervisor;
  proxy::AdminServer* admin;
  uv_signal_t sigint;
  uv_signal_t sigterm;
  uv_signal_t sighup;
};

void onStopSignal(uv_signal_t* handle, int signum) {
  auto* context = static_cast<SignalContext*>(handle->data);
  log::info("server.stopping", {{"signal", signum == SIGINT ? "SIGINT" : "SIGTERM"}});
  // The admin endpoints stay up while the workers drain, so a load
  // balancer gets 503 "draining" from /readyz until the end.
  proxy::AdminServer* admin = context->admin;
  context->supervisor->startShutdown(kDrainTimeoutMs, [admin] { admin->close(); });
  uv_close(reinterpret_cast<uv_handle_t*>(&context->sigint), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&context->sigterm), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&context->sighup), nullptr);
}

void onReloadSignal(uv_signal_t* handle, int) {
  auto* context = static_cast<SignalContext*>(handle->data);
  log::info("server.reloading", {{"signal", "SIGHUP"}});
  context->supervisor->reload();
}

Result<std::shared_ptr<const proxy::Runtime>> loadRuntime(const Options& options) {
  auto config = config::loadGatewayConfig(options.config);
  if (!config) {
    return Error{"invalid configuration:\n" + config.error()};
  }
  std::string cert_file = config->tls.cert_file;
  auto runtime = proxy::buildRuntime(std::move(*config));
  if (!runtime && access(cert_file.c_str(), F_OK) != 0) {
    return Error{runtime.error() + "\n([tls] cert in " + options.config +
                 "; for the demo, create the certificates with: certgate pki demo --out certs)"};
  }
  return runtime;
}

void applyLogLevel(const Options& options, const proxy::Runtime& runtime) {
  std::string name = options.log_level.empty() ? runtime.config.log_level : options.log_level;
  // parseOptions and the configuration loader reject invalid names.
  log::Level level = log::Level::Info;
  log::parseLevel(name, &level);
  log::setLevel(level);
  log::setJson(runtime.config.log_format == "json");
}

// redirectLog sends stderr (and so every log line) to |path|, appending.
bool redirectLog(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    fprintf(stderr, "certgate: cannot open log file %s: %s; check [server] log_file\n",
            path.c_str(), strerror(errno));
    return false;
  }
  dup2(fd, STDERR_FILENO);
  close(fd);
  return true;
}

// raiseFileLimit raises the soft descriptor limit to the hard one and
// warns when it still cannot hold max_connections proxied connections
// (two descriptors each: client and upstream).
void raiseFileLimit(uint32_t max_connections) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return;
  }
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  rlim_t needed = static_cast<rlim_t>(max_connections) * 2 + 64;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
    log::warn("server.file_limit_low", {{"nofile", static_cast<uint64_t>(limit.rlim_cur)},
                                        {"needed", static_cast<uint64_t>(needed)},
                                        {"fix",
                                         "raise ulimit -n (LimitNOFILE= in systemd) or lower "
                                         "[limits] max_connections"}});
  }
}

}  // namespace

int runServe(int argc, char** argv) {
  Options options;
  if (int code = parseOptions(argc, argv, "serve", &options); code >= 0) {
    return code;
  }
  auto runtime = loadRuntime(options);
  if (!runtime) {
    fprintf(stderr, "certgate: %s\n", runtime.error().c_str());
    return 1;
  }
  applyLogLevel(options, **runtime);
  if (!(*runtime)->config.log_file.empty() && !redirectLog((*runtime)->config.log_file)) {
    return 1;
  }
  raiseFileLimit((*runtime)->config.limits.max_connections);
  proxy::logConfigWarnings(**runtime);

  // A client that disconnects while we write must not kill the process.
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t loop;
  uv_loop_init(&loop);
  int exit_code = 0;
  {
    proxy::Supervisor supervisor(&loop, *runtime, options.config);
    proxy::AdminServer admin(&loop, &supervisor);
    Status status = supervisor.listen();
    if (status && (*runtime)->config.has_admin) {
      status = admin.listen((*runtime)->config.admin);
    }
    if (status && (*runtime)->config.policy.watch) {
      status = supervisor.watchPolicyFile();
    }
    if (!status) {
      fprintf(stderr, "certgate: %s\n", status.error().c_str());
      exit_code = 1;
    } else {
      printBanner(supervisor);
      if ((*runtime)->config.has_admin) {
        printf("admin endpoints on http://%s (/metrics, /healthz, /readyz, /identities)\n",
               admin.address().c_str());
        fflush(stdout);
      }
      log::info("server.started", {{"config", options.config},
                                   {"listen", supervisor.boundAddresses()[0]},
                                   {"workers", static_cast<uint64_t>(supervisor.workerCount())}});
      SignalContext signals{&supervisor, &admin, {}, {}, {}};
      uv_signal_init(&loop, &signals.sigint);
      uv_signal_init(&loop, &signals.sigterm);
      uv_signal_init(&loop, &signals.sighup);
      signals.sigint.data = signals.sigterm.data = signals.sighup.data = &signals;
      uv_signal_start(&signals.sigint, onStopSignal, SIGINT);
      uv_signal_start(&signals.sigterm, onStopSignal, SIGTERM);
      uv_signal_start(&signals.sighup, onReloadSignal, SIGHUP);
      supervisor.start();
      // The main loop runs the admin endpoints, signals and the policy
      // watch. It ends after SIGTERM/SIGINT, and join waits for the workers
      // to finish draining.
      uv_run(&loop, UV_RUN_DEFAULT);
      supervisor.join();
      proxy::ServerStats stats = supervisor.stats();
      log::info("server.stopped", {{"handshakes_ok", stats.handshakes_ok},
                                   {"handshakes_failed", stats.handshakes_failed},
                                   {"requests", stats.requests}});
    }
  }
  // Let close callbacks of anything closed in the destructors run.
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) {
    log::warn("server.loop_not_closed", {});
  }
  return exit_code;
}

int runCheckConfig(int argc, char** argv) {
  Options options;
  if (int code = parseOptions(argc, argv, "check-config", &options); code >= 0) {
    return code;
  }
  auto runtime = loadRuntime(options);
  if (!runtime) {
    fprintf(stderr, "%s\n", runtime.error().c_str());
    return 1;
  }
  const proxy::Runtime& loaded = **runtime;
  // Warnings leave the exit status 0: the gateway starts with them.
  for (const proxy::ConfigWarning& warning : loaded.warnings) {
    printf("warning: %s: %s; fix: %s\n", warning.file.c_str(), warning.problem.c_str(),
           warning.fix.c_str());
  }
  std::string warnings;
  if (!loaded.warnings.empty()) {
    warnings = " with " + std::to_string(loaded.warnings.size()) +
               (loaded.warnings.size() == 1 ? " warning" : " warnings");
  }
  printf("%s: OK%s (listen addresses: %zu, upstreams: %zu, routes: %zu)\n", options.config.c_str(),
         warnings.c_str(), loaded.config.listen.size(), loaded.upstreams.size(),
         loaded.policy.routes().size());
  return 0;
}

}  // namespace gw
