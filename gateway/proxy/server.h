// Server: one worker's listeners, open client connections, idle upstream
// connections and graceful shutdown, all on the worker's libuv loop.
// Supervisor (supervisor.h) runs one Server per worker thread and hands
// them the runtime; SharedState is what the workers share.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <uv.h>

#include "gateway/common/metrics.h"
#include "gateway/common/result.h"
#include "gateway/http/parser.h"
#include "gateway/proxy/identity_inventory.h"
#include "gateway/proxy/runtime.h"

namespace gw::proxy {

class ClientConnection;
class Server;
struct UpstreamLink;

// ConnectionLimit counts the open client connections of the whole process
// against [limits] max_connections. Every method is safe to call from any
// thread.
//
// At the limit a listener stops accepting: its connection callback returns
// without uv_accept, so libuv (1.44) stops polling it and further clients
// wait in the kernel's listen backlog. The server registers with wait() and
// is woken through Server::wakeAccepting when a connection closes.
class ConnectionLimit {
 public:
  explicit ConnectionLimit(uint32_t max) : max_(max) {}

  void setMax(uint32_t max) { max_.store(max); }
  uint32_t max() const { return max_.load(); }
  size_t active() const { return active_.load(); }
  size_t pausedListeners() const { return paused_listeners_.load(); }

  // tryAcquire takes a slot and returns true, or returns false at the limit.
  bool tryAcquire();

  // release frees a slot and wakes every server that waits for one.
  void release();

  // wait registers |server| to be woken when a slot frees. The first call of
  // a saturation episode logs listener.connection_limit.
  void wait(Server* server);

  // removeWaiter unregisters |server|, which must not be woken any more.
  void removeWaiter(Server* server);

  void listenerPaused() { paused_listeners_++; }
  void listenerResumed() { paused_listeners_--; }

 private:
  std::atomic<uint32_t> max_;
  std::atomic<size_t> active_{0};
  std::atomic<size_t> paused_listeners_{0};
  // has_waiters_ and saturated_ let release skip the lock in the common
  // case. Both are written under mutex_.
  std::atomic<bool> has_waiters_{false};
  // A saturation episode lasts from the first paused accept until the open
  // connections fall to 90% of the limit, so a gateway that hovers at the
  // limit logs once instead of once per closed connection.
  std::atomic<bool> saturated_{false};
  std::mutex mutex_;  // guards the members below
  std::vector<Server*> waiters_;
  std::chrono::steady_clock::time_point saturated_since_;
};

// UpstreamHealth is the passive health of each upstream for /readyz and
// certgate_upstream_healthy, shared by all workers: an upstream is unhealthy
// after kFailuresUntilUnhealthy failed exchanges in a row on any workers.
// Every method is safe to call from any thread.
class UpstreamHealth {
 public:
  static constexpr int kFailuresUntilUnhealthy = 3;

  // record counts one exchange with |upstream| and logs
  // upstream.health_changed when its health changes.
  void record(const std::string& upstream, bool ok);

  // firstUnhealthy returns the name of an unhealthy upstream, or "".
  std::string firstUnhealthy() const;

  // snapshot returns each upstream seen so far with its health.
  std::vector<std::pair<std::string, bool>> snapshot() const;

 private:
  struct State {
    int failures = 0;  // consecutive failed exchanges
    bool healthy = true;
  };
  mutable std::mutex mutex_;  // guards upstreams_
  std::map<std::string, State, std::less<>> upstreams_;
};

// RejectionLog counts rejected handshakes by client IP and reason for the
// rate-limited tls.handshake_rejected lines, over all workers. It is safe
// to call from any thread.
class RejectionLog {
 public:
  // shouldLog counts one rejection under |key| and returns whether to log
  // it: the 1st, 2nd, 4th, 8th ... time. |out_suppressed| receives how many
  // were not logged since the last logged one.
  bool shouldLog(const std::string& key, uint64_t* out_suppressed);

 private:
  struct Count {
    uint64_t count = 0;
    uint64_t logged_at = 0;
  };
  std::mutex mutex_;  // guards counts_
  std::unordered_map<std::string, Count> counts_;
};

// SharedState is what all workers of the process share.
struct SharedState {
  explicit SharedState(uint32_t max_connections) : limit(max_connections) {}

  ConnectionLimit limit;
  IdentityInventory inventory;
  UpstreamHealth health;
  RejectionLog rejections;
  std::atomic<uint64_t> next_connection_id{1};  // unique across workers, for log lines
};

// Counters since start, for logs and tests.
struct ServerStats {
  uint64_t accepted = 0;
  uint64_t handshakes_ok = 0;
  uint64_t handshakes_failed = 0;
  uint64_t requests = 0;
};

class Server {
 public:
  // Server borrows |loop| and |shared|, which must outlive it. |worker| is
  // the worker's number, for the metric labels.
  Server(uv_loop_t* loop, std::shared_ptr<const Runtime> runtime, SharedState* shared,
         unsigned worker);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // listen binds every configured address. With |reuse_port| each socket
  // gets SO_REUSEPORT so that every worker can bind the same addresses; a
  // non-empty |ports| replaces the configured ports in order (the ports the
  // first worker was given for port 0). On failure nothing is left
  // listening and the error names the address.
  Status listen(bool reuse_port, const std::vector<uint16_t>& ports);
  void closeListeners();

  // startShutdown stops accepting, closes idle connections and lets the
  // others finish their current exchange, for at most |drain_ms|.
  void startShutdown(uint32_t drain_ms);

  // postRuntime and postShutdown hand a new runtime or a shutdown request
  // to the loop thread. They are safe to call from any thread.
  void postRuntime(std::shared_ptr<const Runtime> runtime);
  void postShutdown(uint32_t drain_ms);

  const std::shared_ptr<const Runtime>& runtime() const { return runtime_; }
  uv_loop_t* loop() const { return loop_; }
  bool draining() const { return draining_; }
  ServerStats& stats() { return stats_; }

  // The listening addresses and ports as bound, in configuration order.
  std::vector<std::string> boundAddresses() const;
  std::vector<uint16_t> boundPorts() const;

  // Called by ClientConnection once it has started closing.
  void forget(ClientConnection* connection);

  // wakeAccepting makes the loop retry the listeners that wait for a free
  // connection slot. It is safe to call from any thread.
  void wakeAccepting();

  // Metrics and inventory updates from connections.
  void recordHandshake(const char* failure_reason, bool resumed, double seconds);
  void recordRequest(const std::string& route, const std::string& decision, int status,
                     double seconds);
  void recordIdentity(const policy::Identity& identity, const std::string& decision);
  void recordUpstreamResult(const std::string& upstream, const char* error_kind);
  void recordUpstreamDuration(const std::string& upstream, double seconds);

  // shouldLogRejection counts a rejected handshake under |key| (client IP
  // and reason) and reports whether to log it: the 1st, 2nd, 4th, 8th ... time. |out_suppressed|
  // receives how many were not logged since the last logged one.
  bool shouldLogRejection(const std::string& key, uint64_t* out_suppressed);

  // pickAddress chooses the next address of |upstream| round robin,
  // skipping addresses that failed within the last kDownSeconds and those in
  // |tried|, unless no other is left. It returns null only when every
  // address is in |tried|.
  const UpstreamAddress* pickAddress(const Upstream& upstream,
                                     const std::vector<std::string>& tried);

  // markAddress records the result of connecting to |address| (passive
  // health).
  void markAddress(const std::string& address, bool ok);
  static constexpr int kDownSeconds = 10;

  // Idle keep-alive upstream connections are shared between client
  // connections: releaseUpstream keeps an idle, connected link for reuse
  // (at most kMaxPooledPerAddress per address) or closes it, and
  // takeUpstream hands one for |address| to |owner|, or returns null.
  // dropPooled removes from the pool a link that the upstream closed.
  static constexpr size_t kMaxPooledPerAddress = 16;
  void releaseUpstream(UpstreamLink* link);
  UpstreamLink* takeUpstream(const std::string& address, ClientConnection* owner,
                             http::ParserHandler* handler);
  void dropPooled(UpstreamLink* link);

  size_t activeConnections() const { return connections_.size(); }

 private:
  struct Listener {
    uv_tcp_t* handle;  // heap; freed in its close callback
    std::string address;
    uint16_t port = 0;
    // The kernel connection that libuv accepted but this server has not
    // taken yet because the connection limit is reached. libuv stops
    // polling the listener until uv_accept takes it.
    bool waiting = false;
  };

  static void onConnection(uv_stream_t* listener, int status);
  void accept(uv_stream_t* listener);
  void startConnection(uv_stream_t* listener);
  void resumeAccepting();
  void onControl();
  void closePool();
  void maybeFinishShutdown();

  // Metric handles, resolved on first use of a label set and cached here,
  // so that recording a request takes no lock and allocates nothing after
  // the first request of its route, decision and status class.
  struct RouteMetrics {
    metrics::Histogram* duration = nullptr;
    // certgate_requests_total by decision, then by status / 100.
    std::vector<std::pair<std::string, std::array<metrics::Counter*, 10>>> requests;
  };
  RouteMetrics& routeMetrics(const std::string& route);
  metrics::Counter* handshakes_full_;
  metrics::Counter* handshakes_resumed_;
  metrics::Histogram* handshake_duration_;
  std::map<std::string, metrics::Counter*, std::less<>> handshakes_rejected_;  // by reason
  std::map<std::string, RouteMetrics, std::less<>> route_metrics_;
  std::map<std::string, metrics::Histogram*, std::less<>> upstream_duration_;  // by upstream

  metrics::Counter* accepted_;  // certgate_connections_accepted_total of this worker

  uv_loop_t* loop_;
  std::shared_ptr<const Runtime> runtime_;
  SharedState* shared_;
  ConnectionLimit* limit_;
  unsigned worker_;  // index of this worker, for logs
  // Wakes the loop for postRuntime, postShutdown and wakeAccepting.
  uv_async_t* control_ = nullptr;  // heap; freed in its close callback
  std::mutex control_mutex_;       // guards the two pending requests below
  std::shared_ptr<const Runtime> pending_runtime_;
  std::optional<uint32_t> pending_shutdown_ms_;
  std::vector<Listener> listeners_;
  std::unordered_set<ClientConnection*> connections_;
  uv_timer_t* drain_timer_ = nullptr;  // heap; freed in its close callback
  bool draining_ = false;
  ServerStats stats_;
  std::map<std::string, size_t> next_address_;              // round-robin position per upstream
  std::map<std::string, std::vector<UpstreamLink*>> pool_;  // idle links by address
  std::map<std::string, time_t> down_until_;                // per address display
};

}  // namespace gw::proxy
