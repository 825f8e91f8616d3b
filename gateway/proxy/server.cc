#include "gateway/proxy/server.h"

#include <arpa/inet.h>

#include "gateway/common/log.h"
#include "gateway/config/load.h"
#include "gateway/proxy/client_connection.h"

namespace gw::proxy {
namespace {

constexpr int kListenBacklog = 511;

void freeHandle(uv_handle_t* handle) {
  delete reinterpret_cast<uv_tcp_t*>(handle);
}
void freeTimer(uv_handle_t* handle) {
  delete reinterpret_cast<uv_timer_t*>(handle);
}

int toSockaddr(const config::ListenAddress& address, sockaddr_storage* out) {
  if (address.host.find(':') != std::string::npos) {
    return uv_ip6_addr(address.host.c_str(), address.port, reinterpret_cast<sockaddr_in6*>(out));
  }
  std::string host = address.host == "localhost" ? "127.0.0.1" : address.host;
  return uv_ip4_addr(host.c_str(), address.port, reinterpret_cast<sockaddr_in*>(out));
}

}  // namespace

Server::Server(uv_loop_t* loop, std::shared_ptr<const Runtime> runtime, std::string config_path)
    : loop_(loop), runtime_(std::move(runtime)), config_path_(std::move(config_path)) {}

Server::~Server() {
  closeListeners();
  for (ClientConnection* connection : std::unordered_set<ClientConnection*>(connections_)) {
    connection->closeNow();
  }
}

Status Server::listen() {
  for (const config::ListenAddress& address : runtime_->config.listen) {
    std::string text = address.host.find(':') != std::string::npos
                           ? "[" + address.host + "]:" + std::to_string(address.port)
                           : address.host + ":" + std::to_string(address.port);
    sockaddr_storage storage{};
    int rc = toSockaddr(address, &storage);
    auto* handle = new uv_tcp_t;
    uv_tcp_init(loop_, handle);
    handle->data = this;
    if (rc == 0) {
      // IPv6 sockets accept only IPv6, so "[::]" and "0.0.0.0" can both be listed.
      unsigned flags = storage.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0;
      rc = uv_tcp_bind(handle, reinterpret_cast<sockaddr*>(&storage), flags);
    }
    if (rc == 0) {
      rc = uv_listen(reinterpret_cast<uv_stream_t*>(handle), kListenBacklog, onConnection);
    }
    if (rc != 0) {
      uv_close(reinterpret_cast<uv_handle_t*>(handle), freeHandle);
      closeListeners();
      std::string hint = rc == UV_EADDRINUSE ? "; another process is using this port, stop it "
                                               "or change [server] listen"
                         : rc == UV_EACCES   ? "; ports below 1024 need privileges"
                                             : "";
      return Error{"cannot listen on " + text + ": " + uv_strerror(rc) + hint};
    }
    sockaddr_storage bound{};
    int len = sizeof(bound);
    uv_tcp_getsockname(handle, reinterpret_cast<sockaddr*>(&bound), &len);
    listeners_.push_back(Listener{handle, formatAddress(reinterpret_cast<sockaddr*>(&bound))});
  }
  return okStatus();
}

std::vector<std::string> Server::boundAddresses() const {
  std::vector<std::string> out;
  for (const Listener& listener : listeners_) {
    out.push_back(listener.address);
  }
  return out;
}

void Server::onConnection(uv_stream_t* listener, int status) {
  auto* self = static_cast<Server*>(listener->data);
  if (status != 0) {
    log::warn("listener.accept_error", {{"error", uv_strerror(status)}});
    return;
  }
  self->accept(listener);
}

void Server::accept(uv_stream_t* listener) {
  if (draining_) {
    return;
  }
  if (connections_.size() >= runtime_->config.limits.max_connections) {
    // Accept and close at once, so the client is not left waiting in the
    // backlog.
    auto* handle = new uv_tcp_t;
    uv_tcp_init(loop_, handle);
    if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(handle)) == 0) {
      stats_.rejected_over_limit++;
      if ((stats_.rejected_over_limit & (stats_.rejected_over_limit - 1)) == 0) {
        log::warn(
            "listener.connection_limit",
            {{"max_connections", static_cast<uint64_t>(runtime_->config.limits.max_connections)},
             {"rejected_total", stats_.rejected_over_limit}});
      }
    }
    uv_close(reinterpret_cast<uv_handle_t*>(handle), freeHandle);
    return;
  }
  stats_.accepted++;
  auto* connection = new ClientConnection(this, runtime_, next_id_++);
  connections_.insert(connection);
  connection->start(listener);
}

void Server::forget(ClientConnection* connection) {
  connections_.erase(connection);
  maybeFinishShutdown();
}

void Server::closeListeners() {
  for (Listener& listener : listeners_) {
    uv_close(reinterpret_cast<uv_handle_t*>(listener.handle), freeHandle);
  }
  listeners_.clear();
}

void Server::startShutdown(uint32_t drain_ms) {
  if (draining_) {
    return;
  }
  draining_ = true;
  log::info("server.draining", {{"connections", static_cast<uint64_t>(connections_.size())},
                                {"drain_timeout_ms", static_cast<uint64_t>(drain_ms)}});
  closeListeners();
  for (ClientConnection* connection : std::unordered_set<ClientConnection*>(connections_)) {
    connection->drain();
  }
  if (connections_.empty()) {
    return;
  }
  drain_timer_ = new uv_timer_t;
  uv_timer_init(loop_, drain_timer_);
  drain_timer_->data = this;
  uv_timer_start(
      drain_timer_,
      [](uv_timer_t* timer) {
        auto* self = static_cast<Server*>(timer->data);
        log::warn("server.drain_timeout",
                  {{"connections_closed", static_cast<uint64_t>(self->connections_.size())}});
        for (ClientConnection* c : std::unordered_set<ClientConnection*>(self->connections_)) {
          c->closeNow();
        }
      },
      drain_ms, 0);
}

void Server::maybeFinishShutdown() {
  if (draining_ && connections_.empty() && drain_timer_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(drain_timer_), freeTimer);
    drain_timer_ = nullptr;
  }
}

void Server::reload() {
  auto config = config::loadGatewayConfig(config_path_);
  if (!config) {
    log::error("config.reload_failed", {{"file", config_path_}, {"error", config.error()}});
    return;
  }
  auto runtime = buildRuntime(std::move(*config));
  if (!runtime) {
    log::error("config.reload_failed", {{"file", config_path_}, {"error", runtime.error()}});
    return;
  }
  // Listen addresses are bound at start; a reload that changes them takes
  // effect only after a restart.
  runtime_ = std::move(*runtime);
  log::info("config.reloaded",
            {{"file", config_path_},
             {"routes", static_cast<uint64_t>(runtime_->policy.routes().size())}});
}

}  // namespace gw::proxy
