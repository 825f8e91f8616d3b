#include "bench/options.h"

#include <charconv>
#include <string>
#include <string_view>
#include <vector>

namespace bench {
namespace {

constexpr const char* kUsage = R"(Usage: certgate-bench MODE --target HOST:PORT --ca FILE [options]
       certgate-bench --idle N --hold SECONDS --target HOST:PORT --ca FILE [options]

Modes:
  handshake   connect, full TLS 1.3 handshake, close (one operation per connection)
  resume      like handshake, but resuming a TLS 1.3 session ticket from an earlier handshake
  request     handshake, one GET PATH with Connection: close, check the status, close
  keepalive   GET PATH back to back on --concurrency open connections

Options:
  --target HOST:PORT     server address; IPv6 in brackets, for example [::1]:4443
  --sni NAME             server name sent in SNI and checked in the server certificate
                         (default: HOST unless it is an IP address)
  --ca FILE              CA certificates (PEM) the server certificate must chain to
  --cert FILE            client certificate chain (PEM); without it no certificate is sent
  --key FILE             client private key (PEM), required with --cert
  --path PATH            request path for request and keepalive (default /)
  --concurrency N        connections in flight at once (default 10); with --idle, the
                         number of handshakes in flight while connections are opened
  --duration SECONDS     run time (default 10)
  --count N              stop after N operations instead of after --duration
  --threads N            threads, each with its own event loop, sharing --concurrency and
                         --count (default 1; at most --concurrency; not with --idle)
  --expect-status CODE   HTTP status that counts as success (default 200)
  --timeout SECONDS      limit for one operation, from connect to the end of the
                         response (default 10)
  --idle N               open N connections, finish their handshakes and hold them idle
  --hold SECONDS         how long --idle holds the connections (default 10)
  --json                 print the report as one JSON line on stdout (text goes to stderr)
  --help                 print this text
)";

ParseResult usageError(const std::string& message) {
  return {std::nullopt, "certgate-bench: " + message + "\nRun certgate-bench --help for usage.", 2};
}

template <typename T>
bool parseNumber(std::string_view text, T* out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

std::optional<Mode> parseMode(std::string_view name) {
  if (name == "handshake") {
    return Mode::Handshake;
  }
  if (name == "resume") {
    return Mode::Resume;
  }
  if (name == "request") {
    return Mode::Request;
  }
  if (name == "keepalive") {
    return Mode::Keepalive;
  }
  return std::nullopt;
}

// Splits "HOST:PORT" or "[IPV6]:PORT". Returns false when either part is missing.
bool parseTarget(std::string_view text, Options* options) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return false;
  }
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      return false;
    }
    host = host.substr(1, host.size() - 2);
  }
  options->host = std::string(host);
  return parseNumber(text.substr(colon + 1), &options->port) && options->port != 0;
}

bool isIpAddress(const std::string& host) {
  return host.find(':') != std::string::npos ||
         host.find_first_not_of("0123456789.") == std::string::npos;
}

// Applies one option that takes a value. Returns an error message, or "" on success.
std::string applyValue(std::string_view name, std::string_view value, Options* options) {
  auto invalid = [&](const char* expected) {
    return "invalid value '" + std::string(value) + "' for " + std::string(name) + ": expected " +
           expected;
  };
  if (name == "--target") {
    return parseTarget(value, options) ? "" : invalid("HOST:PORT");
  }
  if (name == "--sni") {
    options->sni = std::string(value);
  } else if (name == "--ca") {
    options->ca_file = std::string(value);
  } else if (name == "--cert") {
    options->cert_file = std::string(value);
  } else if (name == "--key") {
    options->key_file = std::string(value);
  } else if (name == "--path") {
    if (value.empty() || value.front() != '/') {
      return invalid("a path starting with /");
    }
    options->path = std::string(value);
  } else if (name == "--concurrency") {
    if (!parseNumber(value, &options->concurrency) || options->concurrency == 0) {
      return invalid("a positive integer");
    }
  } else if (name == "--threads") {
    if (!parseNumber(value, &options->threads) || options->threads == 0) {
      return invalid("a positive integer");
    }
  } else if (name == "--duration") {
    if (!parseNumber(value, &options->duration_s) || !(options->duration_s > 0)) {
      return invalid("a positive number of seconds");
    }
  } else if (name == "--count") {
    uint64_t count = 0;
    if (!parseNumber(value, &count) || count == 0) {
      return invalid("a positive integer");
    }
    options->count = count;
  } else if (name == "--expect-status") {
    if (!parseNumber(value, &options->expect_status) || options->expect_status < 100 ||
        options->expect_status > 599) {
      return invalid("an HTTP status code from 100 to 599");
    }
  } else if (name == "--timeout") {
    if (!parseNumber(value, &options->timeout_s) || !(options->timeout_s > 0)) {
      return invalid("a positive number of seconds");
    }
  } else if (name == "--idle") {
    if (!parseNumber(value, &options->idle_connections) || options->idle_connections == 0) {
      return invalid("a positive integer");
    }
  } else if (name == "--hold") {
    if (!parseNumber(value, &options->hold_s) || options->hold_s < 0) {
      return invalid("a number of seconds, 0 or more");
    }
  } else {
    return "unknown option " + std::string(name);
  }
  return "";
}

// Checks the combination of options once all are read.
std::string validate(const Options& options, bool has_mode) {
  bool idle = options.idle_connections > 0;
  if (idle && has_mode) {
    return "--idle is a mode of its own: remove the mode argument";
  }
  if (!idle && !has_mode) {
    return "missing mode: handshake, resume, request or keepalive (or --idle N)";
  }
  if (options.host.empty()) {
    return "missing --target HOST:PORT";
  }
  if (options.ca_file.empty()) {
    return "missing --ca FILE: the server certificate is always verified";
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return "--cert and --key must be given together";
  }
  if (idle && options.threads > 1) {
    return "--threads is for the load modes: --idle runs on one thread";
  }
  if (options.threads > options.concurrency) {
    return "--threads " + std::to_string(options.threads) + " is more than --concurrency " +
           std::to_string(options.concurrency) + ": every thread needs a connection";
  }
  return "";
}

}  // namespace

const char* modeName(Mode mode) {
  switch (mode) {
    case Mode::Handshake:
      return "handshake";
    case Mode::Resume:
      return "resume";
    case Mode::Request:
      return "request";
    case Mode::Keepalive:
      return "keepalive";
    case Mode::Idle:
      return "idle";
  }
  return "unknown";
}

ParseResult parseOptions(int argc, char** argv) {
  Options options;
  bool has_mode = false;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      return {std::nullopt, kUsage, 0};
    }
    if (arg == "--json") {
      options.json = true;
      continue;
    }
    if (arg.substr(0, 2) != "--") {
      std::optional<Mode> mode = parseMode(arg);
      if (!mode || has_mode) {
        return usageError("unexpected argument '" + std::string(arg) + "'");
      }
      options.mode = *mode;
      has_mode = true;
      continue;
    }
    if (i + 1 >= args.size()) {
      return usageError("missing value for " + std::string(arg));
    }
    std::string error = applyValue(arg, args[++i], &options);
    if (!error.empty()) {
      return usageError(error);
    }
  }

  std::string error = validate(options, has_mode);
  if (!error.empty()) {
    return usageError(error);
  }
  if (options.idle_connections > 0) {
    options.mode = Mode::Idle;
  }
  if (options.sni.empty() && !isIpAddress(options.host)) {
    options.sni = options.host;
  }
  return {options, "", 0};
}

}  // namespace bench
