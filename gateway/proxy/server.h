// Server: the listeners, the set of open client connections, reload and
// graceful shutdown, all on one libuv loop.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
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
  std::atomic<bool> has_waiters_{false};
  std::mutex mutex_;  // guards the members below
  std::vector<Server*> waiters_;
  // A saturation episode lasts from the first paused accept until the open
  // connections fall to 90% of the limit, so a gateway that hovers at the
  // limit logs once instead of once per closed connection.
  bool saturated_ = false;
  std::chrono::steady_clock::time_point saturated_since_;
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
  // Server borrows |loop| and |limit|, which must outlive it.
  Server(uv_loop_t* loop, std::shared_ptr<const Runtime> runtime, std::string config_path,
         ConnectionLimit* limit);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // listen binds every configured address. On failure nothing is left
  // listening and the error names the address.
  Status listen();

  // startShutdown stops accepting, closes idle connections and lets the
  // others finish their current exchange, for at most |drain_ms|.
  void startShutdown(uint32_t drain_ms);

  // watchPolicyFile reloads (as on SIGHUP) whenever the policy file
  // changes, when [policy] watch is set. The directory is watched, so an
  // editor that replaces the file by renaming is seen too.
  Status watchPolicyFile();

  // reload re-reads the configuration file and swaps the runtime if every
  // part of it loads; otherwise it logs the errors and keeps the old one.
  void reload();

  const std::shared_ptr<const Runtime>& runtime() const { return runtime_; }
  uv_loop_t* loop() const { return loop_; }
  bool draining() const { return draining_; }
  ServerStats& stats() { return stats_; }

  // The listening addresses as bound, for the banner.
  std::vector<std::string> boundAddresses() const;

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

  // renderMetrics returns /metrics; healthy, ready and identities the other
  // admin endpoints.
  std::string renderMetrics();
  bool ready(std::string* out_reason) const;
  std::string identitiesJson() const { return inventory_.toJson(); }
  size_t activeConnections() const { return connections_.size(); }

 private:
  struct Listener {
    uv_tcp_t* handle;  // heap; freed in its close callback
    std::string address;
    // The kernel connection that libuv accepted but this server has not
    // taken yet because the connection limit is reached. libuv stops
    // polling the listener until uv_accept takes it.
    bool waiting = false;
  };

  static void onConnection(uv_stream_t* listener, int status);
  void accept(uv_stream_t* listener);
  void startConnection(uv_stream_t* listener);
  void resumeAccepting();
  void closeListeners();
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

  uv_loop_t* loop_;
  std::shared_ptr<const Runtime> runtime_;
  std::string config_path_;
  ConnectionLimit* limit_;
  uv_async_t* wake_ = nullptr;  // heap; freed in its close callback
  std::vector<Listener> listeners_;
  std::unordered_set<ClientConnection*> connections_;
  uv_timer_t* drain_timer_ = nullptr;      // heap; freed in its close callback
  uv_fs_event_t* policy_watch_ = nullptr;  // heap; freed in its close callback
  uv_timer_t* policy_debounce_ = nullptr;  // heap; freed in its close callback
  bool draining_ = false;
  uint64_t next_id_ = 1;
  ServerStats stats_;
  IdentityInventory inventory_;
  std::map<std::string, bool> upstream_healthy_;
  std::map<std::string, int> upstream_failures_;            // consecutive failed exchanges
  std::map<std::string, size_t> next_address_;              // round-robin position per upstream
  std::map<std::string, std::vector<UpstreamLink*>> pool_;  // idle links by address
  std::map<std::string, time_t> down_until_;                // per address display
  struct RejectionCount {
    uint64_t count = 0;
    uint64_t logged_at = 0;
  };
  std::unordered_map<std::string, RejectionCount>
      rejections_;  // by IP and reason  // passive health: last result per upstream
};

}  // namespace gw::proxy
