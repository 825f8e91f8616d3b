// The demo service's TCP listener and the set of open connections.
#pragma once

#include <cstdint>
#include <unordered_set>

#include <uv.h>

namespace demo {

class Connection;

// Server accepts connections on one address and serves each with a
// Connection. All calls must come from the thread that runs |loop|.
class Server {
 public:
  // |loop| is borrowed and must outlive the server.
  explicit Server(uv_loop_t* loop);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  // The destructor expects shutdown() to have run and the loop to have
  // completed the close callbacks, so that no Connection is left.
  ~Server();

  // Binds |address| and starts accepting connections. Returns 0, or the
  // negative libuv error code of the bind or listen that failed.
  int listen(const sockaddr* address);

  // Stores the bound address in |out|, which shows the port chosen when
  // listen() was given port 0. Returns 0 or a negative libuv error code.
  int getBoundAddress(sockaddr_storage* out) const;

  // Stops accepting and closes every connection, dropping unsent output.
  // The loop ends once the close callbacks have run. Safe to call twice.
  void shutdown();

  // Removes |connection| from the open set. Called by its destructor.
  void forgetConnection(Connection* connection);

 private:
  static void onConnection(uv_stream_t* listener, int status) noexcept;
  void acceptConnection();

  uv_loop_t* loop_;
  uv_tcp_t* listener_;  // Owned; null once closed.
  std::unordered_set<Connection*> connections_;
  uint64_t nextConnectionId_ = 1;
};

}  // namespace demo
