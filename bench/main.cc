// certgate-bench: a TLS 1.3 mTLS load generator for certgate and the
// servers it is compared with, one libuv loop per --threads thread.
// README.md in this folder describes the modes.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <netdb.h>
#include <string>
#include <sys/resource.h>

#include <uv.h>

#include "bench/connection.h"
#include "bench/load_threads.h"
#include "bench/options.h"

namespace {

// Resolves options.host (an IP address or a name such as localhost) to the
// first address getaddrinfo returns. Runs once, before the loop starts.
bool resolveTarget(const bench::Options& options, bench::ConnectionConfig* config,
                   std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* results = nullptr;
  std::string port = std::to_string(options.port);
  int status = getaddrinfo(options.host.c_str(), port.c_str(), &hints, &results);
  if (status != 0 || results == nullptr) {
    *error = "cannot resolve '" + options.host + "': " + gai_strerror(status);
    return false;
  }
  std::memcpy(&config->address, results->ai_addr, results->ai_addrlen);
  freeaddrinfo(results);
  return true;
}

// Raises the open-file limit to its hard maximum, because --idle and high
// --concurrency need one descriptor per connection.
void raiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// Returns the settings every connection shares, except the TLS context,
// which each thread builds for itself.
bench::ConnectionConfig makeConnectionConfig(const bench::Options& options) {
  bench::ConnectionConfig config;
  config.mode = options.mode;
  config.server_name = options.sni;
  config.ip_address = options.host;
  bool keep_alive = options.mode == bench::Mode::Keepalive;
  std::string host_header = options.sni.empty() ? options.host : options.sni;
  config.request = bench::buildGetRequest(options.path, host_header, keep_alive);
  config.expect_status = options.expect_status;
  config.timeout_ms = static_cast<uint64_t>(options.timeout_s * 1000);
  return config;
}

void printReport(const bench::Options& options, const bench::Stats& stats) {
  if (options.json) {
    stats.printText(stderr, options);
    std::printf("%s\n", stats.toJson(options).c_str());
  } else {
    stats.printText(stdout, options);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bench::ParseResult parsed = bench::parseOptions(argc, argv);
  if (!parsed.options) {
    std::fprintf(parsed.exit_code == 0 ? stdout : stderr, "%s\n", parsed.message.c_str());
    return parsed.exit_code;
  }
  const bench::Options& options = *parsed.options;
  // A write to a connection the server has reset must fail with EPIPE,
  // not end the process.
  std::signal(SIGPIPE, SIG_IGN);
  raiseFileLimit();

  std::string error;
  bench::ConnectionConfig config = makeConnectionConfig(options);
  if (!resolveTarget(options, &config, &error)) {
    std::fprintf(stderr, "certgate-bench: %s\n", error.c_str());
    return 3;
  }

  bench::Stats stats;
  std::string loop_warning;
  bench::LoadStatus status = bench::runLoad(options, config, &stats, &error, &loop_warning);
  if (status != bench::LoadStatus::Finished) {
    std::fprintf(stderr, "certgate-bench: %s\n", error.c_str());
    return 3;
  }
  printReport(options, stats);
  if (!loop_warning.empty()) {
    std::fprintf(stderr, "certgate-bench: handles left open at exit: %s\n", loop_warning.c_str());
  }
  return stats.failures() == 0 && stats.successes() > 0 ? 0 : 1;
}
