// upstream-demo: the demo web service behind certgate. It serves plain
// HTTP/1.1 and trusts the identity headers that the gateway adds after it
// verified the client certificate, so it must only be reachable through the
// gateway. Routes are listed in routes.cc and in README.md.

#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>

#include <uv.h>

#include "gateway/common/log.h"
#include "upstream_demo/listen_address.h"
#include "upstream_demo/server.h"
#include "upstream_demo/uv_handles.h"

namespace {

constexpr std::string_view kDefaultListen = "127.0.0.1:8080";

constexpr std::string_view kUsage =
    "Usage: upstream-demo [--listen HOST:PORT]\n"
    "\n"
    "Serves the certgate demo web service over plain HTTP/1.1.\n"
    "\n"
    "Options:\n"
    "  --listen HOST:PORT  address to listen on (default 127.0.0.1:8080). HOST is a\n"
    "                      numeric IPv4 address or an IPv6 address in brackets,\n"
    "                      such as [::1]:8080. Port 0 picks a free port.\n"
    "  --help              print this help and exit\n"
    "\n"
    "On start it prints \"upstream-demo listening on http://HOST:PORT\" to stdout.\n"
    "SIGINT or SIGTERM closes all connections and exits with status 0.\n";

struct Options {
  std::string listen{kDefaultListen};
  bool help = false;
};

// Parses the command line into |out|. Returns an empty string, or a message
// naming the argument that is invalid.
std::string parseOptions(int argc, char** argv, Options* out) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      out->help = true;
    } else if (arg == "--listen") {
      if (i + 1 == argc) {
        return "missing value for --listen";
      }
      out->listen = argv[++i];
    } else if (arg.substr(0, 9) == "--listen=") {
      out->listen = arg.substr(9);
    } else {
      return "unknown argument \"" + std::string(arg) + "\"";
    }
  }
  return "";
}

// Stops the server on SIGINT or SIGTERM. Closing the listener, the
// connections and the signal handles leaves the loop with nothing to do, so
// uv_run() returns.
class SignalStopper {
 public:
  SignalStopper(uv_loop_t* loop, demo::Server& server) : server_(server) {
    for (int i = 0; i < 2; ++i) {
      handles_[i] = new uv_signal_t;
      uv_signal_init(loop, handles_[i]);
      handles_[i]->data = this;
      uv_signal_start(handles_[i], onSignal, kSignals[i]);
    }
  }

  SignalStopper(const SignalStopper&) = delete;
  SignalStopper& operator=(const SignalStopper&) = delete;

  void stop() {
    if (handles_[0] == nullptr) {
      return;
    }
    server_.shutdown();
    for (uv_signal_t*& handle : handles_) {
      demo::closeAndDelete(handle);
      handle = nullptr;
    }
  }

 private:
  static constexpr int kSignals[2] = {SIGINT, SIGTERM};

  static void onSignal(uv_signal_t* handle, int signum) noexcept {
    auto* self = static_cast<SignalStopper*>(handle->data);
    if (self == nullptr) {
      return;
    }
    gw::log::info("demo.stopping", {{"signal", signum == SIGINT ? "SIGINT" : "SIGTERM"}});
    self->stop();
  }

  demo::Server& server_;
  uv_signal_t* handles_[2] = {nullptr, nullptr};  // Owned until stop().
};

// Listens on |address| and runs the loop until a signal stops the server.
// Returns the process exit status.
int serve(uv_loop_t* loop, const sockaddr_storage& address, std::string_view listenText) {
  demo::Server server(loop);
  int status = server.listen(reinterpret_cast<const sockaddr*>(&address));
  if (status < 0) {
    fprintf(stderr, "upstream-demo: failed to listen on %.*s: %s (%s)\n",
            static_cast<int>(listenText.size()), listenText.data(), uv_strerror(status),
            uv_err_name(status));
    server.shutdown();
    uv_run(loop, UV_RUN_DEFAULT);
    return 1;
  }

  sockaddr_storage bound;
  status = server.getBoundAddress(&bound);
  if (status < 0) {
    fprintf(stderr, "upstream-demo: failed to read the bound address: %s\n", uv_strerror(status));
    server.shutdown();
    uv_run(loop, UV_RUN_DEFAULT);
    return 1;
  }
  // Tests wait for this exact line, so it goes to stdout and is flushed.
  printf("upstream-demo listening on http://%s\n", demo::formatAuthority(bound).c_str());
  fflush(stdout);

  SignalStopper stopper(loop, server);
  uv_run(loop, UV_RUN_DEFAULT);
  gw::log::info("demo.stopped", {});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  std::string error = parseOptions(argc, argv, &options);
  if (!error.empty()) {
    fprintf(stderr, "upstream-demo: %s\nRun upstream-demo --help for usage.\n", error.c_str());
    return 2;
  }
  if (options.help) {
    fwrite(kUsage.data(), 1, kUsage.size(), stdout);
    return 0;
  }

  sockaddr_storage address;
  error = demo::parseListenAddress(options.listen, &address);
  if (!error.empty()) {
    fprintf(stderr, "upstream-demo: %s\n", error.c_str());
    return 2;
  }

  // A client that closes early makes writes fail with EPIPE; without this
  // the signal would end the process instead.
  signal(SIGPIPE, SIG_IGN);

  uv_loop_t loop;
  uv_loop_init(&loop);
  int exitStatus = serve(&loop, address, options.listen);

  int status = uv_loop_close(&loop);
  if (status != 0) {
    fprintf(stderr, "upstream-demo: uv_loop_close failed: %s; a handle was left open\n",
            uv_err_name(status));
    return 1;
  }
  return exitStatus;
}
