#include "upstream_demo/server.h"

#include <cassert>

#include "gateway/common/log.h"
#include "upstream_demo/connection.h"
#include "upstream_demo/uv_handles.h"

namespace demo {
namespace {

// Pending-connection queue length passed to listen(2). Linux caps it at
// net.core.somaxconn.
constexpr int kListenBacklog = 511;

}  // namespace

Server::Server(uv_loop_t* loop) : loop_(loop), listener_(new uv_tcp_t) {
  uv_tcp_init(loop_, listener_);
  listener_->data = this;
}

Server::~Server() {
  assert(listener_ == nullptr);
  assert(connections_.empty());
}

int Server::listen(const sockaddr* address) {
  int status = uv_tcp_bind(listener_, address, 0);
  if (status < 0) {
    return status;
  }
  return uv_listen(reinterpret_cast<uv_stream_t*>(listener_), kListenBacklog, onConnection);
}

int Server::getBoundAddress(sockaddr_storage* out) const {
  int len = sizeof(*out);
  return uv_tcp_getsockname(listener_, reinterpret_cast<sockaddr*>(out), &len);
}

void Server::shutdown() {
  if (listener_ != nullptr) {
    closeAndDelete(listener_);
    listener_ = nullptr;
  }
  // close() only starts closing. Each Connection leaves the set later, in
  // its close callback, so the set does not change during this loop.
  for (Connection* connection : connections_) {
    connection->close();
  }
}

void Server::forgetConnection(Connection* connection) {
  connections_.erase(connection);
}

void Server::onConnection(uv_stream_t* listener, int status) noexcept {
  auto* self = static_cast<Server*>(listener->data);
  if (self == nullptr) {
    return;
  }
  if (status < 0) {
    gw::log::warn("demo.accept_failed", {{"error", uv_err_name(status)}});
    return;
  }
  self->acceptConnection();
}

void Server::acceptConnection() {
  auto* tcp = new uv_tcp_t;
  uv_tcp_init(loop_, tcp);
  int status =
      uv_accept(reinterpret_cast<uv_stream_t*>(listener_), reinterpret_cast<uv_stream_t*>(tcp));
  if (status < 0) {
    gw::log::warn("demo.accept_failed", {{"error", uv_err_name(status)}});
    closeAndDelete(tcp);
    return;
  }
  // Most responses are small, and Nagle's algorithm would hold them back
  // while an earlier segment waits for its ACK.
  uv_tcp_nodelay(tcp, 1);

  auto* connection = new Connection(*this, tcp, nextConnectionId_++);
  connections_.insert(connection);
  connection->start();
}

}  // namespace demo
