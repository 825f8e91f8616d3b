// Command-line options of certgate-bench, the load generator.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace bench {

enum class Mode {
  Handshake,  // connect, full TLS 1.3 handshake, close
  Resume,     // connect, TLS 1.3 handshake resuming a session ticket, close
  Request,    // handshake, one GET with Connection: close, close
  Keepalive,  // GETs back to back on open connections
  Idle,       // open connections, hold them idle, close
};

const char* modeName(Mode mode);

struct Options {
  Mode mode = Mode::Handshake;
  std::string host;  // from --target, without brackets
  uint16_t port = 0;
  std::string sni;  // empty when --sni is absent and the host is an IP address
  std::string ca_file;
  std::string cert_file;  // empty: no client certificate is sent
  std::string key_file;
  std::string path = "/";
  uint32_t concurrency = 10;
  // Threads, each with its own libuv loop and TLS context; --concurrency
  // and --count are split between them.
  uint32_t threads = 1;
  // Exactly one of duration_s and count bounds a run; count wins when both are set.
  double duration_s = 10.0;
  std::optional<uint64_t> count;
  int expect_status = 200;
  double timeout_s = 10.0;  // per operation: connect to the end of the response
  bool json = false;
  uint32_t idle_connections = 0;  // --idle
  double hold_s = 10.0;           // --hold
};

// Outcome of parseOptions: options to run with, or a message and exit code
// (0 for --help, 2 for a usage error).
struct ParseResult {
  std::optional<Options> options;
  std::string message;
  int exit_code = 0;
};

// Parses argv. The first non-option argument is the mode; --idle selects
// the idle mode without one.
ParseResult parseOptions(int argc, char** argv);

}  // namespace bench
