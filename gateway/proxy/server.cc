#include "gateway/proxy/server.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/common/log.h"
#include "gateway/common/metrics.h"
#include "gateway/config/load.h"
#include "gateway/proxy/client_connection.h"
#include "gateway/proxy/upstream_link.h"

namespace gw::proxy {
namespace {

constexpr int kListenBacklog = 511;

void freeHandle(uv_handle_t* handle) {
  delete reinterpret_cast<uv_tcp_t*>(handle);
}
void freeTimer(uv_handle_t* handle) {
  delete reinterpret_cast<uv_timer_t*>(handle);
}

socklen_t sockaddrLength(const sockaddr_storage& address) {
  return address.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

// openBoundSocket creates a TCP socket with SO_REUSEADDR (as uv_tcp_bind
// sets it), IPV6_V6ONLY for IPv6, and SO_REUSEPORT if |reuse_port|, and
// binds it to |address|. It returns the descriptor or a libuv error.
int openBoundSocket(const sockaddr_storage& address, bool reuse_port) {
  int fd = socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return uv_translate_sys_error(errno);
  }
  int one = 1;
  bool ok = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
            (!reuse_port || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == 0) &&
            (address.ss_family != AF_INET6 ||
             setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == 0) &&
            bind(fd, reinterpret_cast<const sockaddr*>(&address), sockaddrLength(address)) == 0;
  if (!ok) {
    int error = uv_translate_sys_error(errno);
    close(fd);
    return error;
  }
  return fd;
}

// bindReusePort binds |handle| to |address| with SO_REUSEPORT, which
// libuv 1.44 has no bind flag for, so the socket is made here and opened
// with uv_tcp_open.
int bindReusePort(uv_tcp_t* handle, const sockaddr_storage& address) {
  int fd = openBoundSocket(address, true);
  if (fd < 0) {
    return fd;
  }
  int rc = uv_tcp_open(handle, fd);
  if (rc != 0) {
    close(fd);
  }
  return rc;
}

// checkPortFree binds |address| once without SO_REUSEPORT and closes the
// socket again. Binding with SO_REUSEPORT succeeds next to another
// process's SO_REUSEPORT socket of the same user, so without this check a
// second gateway with several workers would silently share the port.
// NOTE: a process that binds between this check and the workers' binds is
// not detected.
int checkPortFree(const sockaddr_storage& address) {
  int fd = openBoundSocket(address, false);
  if (fd < 0) {
    return fd;
  }
  close(fd);
  return 0;
}

}  // namespace

bool ConnectionLimit::tryAcquire() {
  size_t current = active_.load();
  do {
    if (current >= max_.load()) {
      return false;
    }
  } while (!active_.compare_exchange_weak(current, current + 1));
  return true;
}

void ConnectionLimit::release() {
  size_t remaining = active_.fetch_sub(1) - 1;
  if (!has_waiters_.load() && !saturated_.load()) {
    return;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  for (Server* server : waiters_) {
    server->wakeAccepting();
  }
  waiters_.clear();
  has_waiters_.store(false);
  uint32_t low_water = max_.load() / 10 * 9;
  if (saturated_.load() && remaining <= low_water) {
    saturated_.store(false);
    auto elapsed = std::chrono::steady_clock::now() - saturated_since_;
    log::info("listener.connection_limit_cleared",
              {{"max_connections", static_cast<uint64_t>(max_.load())},
               {"active", static_cast<uint64_t>(remaining)},
               {"saturated_ms",
                static_cast<uint64_t>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count())}});
  }
}

void ConnectionLimit::wait(Server* server) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (std::find(waiters_.begin(), waiters_.end(), server) == waiters_.end()) {
      waiters_.push_back(server);
    }
    has_waiters_.store(true);
    if (!saturated_.load()) {
      saturated_.store(true);
      saturated_since_ = std::chrono::steady_clock::now();
      metrics::registry().increment("certgate_connection_limit_reached_total");
      log::warn("listener.connection_limit",
                {{"max_connections", static_cast<uint64_t>(max_.load())},
                 {"action", "new connections wait in the listen backlog until one closes"},
                 {"fix", "raise [limits] max_connections (and ulimit -n) if this is normal load"}});
    }
  }
  // A connection that closed between the failed tryAcquire and the
  // registration above saw no waiter, so check for a free slot once more.
  if (active_.load() < max_.load()) {
    server->wakeAccepting();
  }
}

void ConnectionLimit::removeWaiter(Server* server) {
  std::lock_guard<std::mutex> lock(mutex_);
  waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), server), waiters_.end());
}

void UpstreamHealth::record(const std::string& upstream, bool ok) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = upstreams_.find(upstream);
  if (found == upstreams_.end()) {
    found = upstreams_.emplace(upstream, State{}).first;
    // The first exchange sets the health without a change to log.
    found->second.failures = ok ? 0 : 1;
    found->second.healthy = found->second.failures < kFailuresUntilUnhealthy;
    return;
  }
  // One failed exchange can be one client's doing; kFailuresUntilUnhealthy
  // in a row without a success mark the upstream unhealthy for /readyz.
  State& state = found->second;
  state.failures = ok ? 0 : state.failures + 1;
  bool healthy = state.failures < kFailuresUntilUnhealthy;
  if (healthy != state.healthy) {
    log::warn("upstream.health_changed",
              {{"upstream", upstream}, {"healthy", healthy ? "true" : "false"}});
  }
  state.healthy = healthy;
}

std::string UpstreamHealth::firstUnhealthy() const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [upstream, state] : upstreams_) {
    if (!state.healthy) {
      return upstream;
    }
  }
  return "";
}

std::vector<std::pair<std::string, bool>> UpstreamHealth::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::pair<std::string, bool>> out;
  for (const auto& [upstream, state] : upstreams_) {
    out.emplace_back(upstream, state.healthy);
  }
  return out;
}

Server::Server(uv_loop_t* loop, std::shared_ptr<const Runtime> runtime, SharedState* shared,
               unsigned worker)
    : loop_(loop),
      runtime_(std::move(runtime)),
      shared_(shared),
      limit_(&shared->limit),
      worker_(worker) {
  metrics::Registry& registry = metrics::registry();
  handshakes_full_ =
      registry.counterSeries("certgate_handshakes_total", {{"result", "ok"}, {"reason", "full"}});
  handshakes_resumed_ = registry.counterSeries("certgate_handshakes_total",
                                               {{"result", "ok"}, {"reason", "resumed"}});
  handshake_duration_ = registry.histogramSeries("certgate_handshake_duration_seconds");
  accepted_ = registry.counterSeries("certgate_connections_accepted_total",
                                     {{"worker", std::to_string(worker)}});
  control_ = new uv_async_t;
  uv_async_init(loop_, control_,
                [](uv_async_t* async) { static_cast<Server*>(async->data)->onControl(); });
  control_->data = this;
  // The control handle alone must not keep the loop running after a drain.
  uv_unref(reinterpret_cast<uv_handle_t*>(control_));
}

Server::~Server() {
  limit_->removeWaiter(this);
  uv_close(reinterpret_cast<uv_handle_t*>(control_),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_async_t*>(handle); });
  closeListeners();
  closePool();
  for (ClientConnection* connection : std::unordered_set<ClientConnection*>(connections_)) {
    connection->closeNow();
  }
}

Status Server::listen(bool reuse_port, const std::vector<uint16_t>& ports) {
  const std::vector<config::ListenAddress>& configured = runtime_->config.listen;
  for (size_t i = 0; i < configured.size(); i++) {
    config::ListenAddress address = configured[i];
    if (i < ports.size()) {
      address.port = ports[i];
    }
    std::string text = listenAddressText(address);
    sockaddr_storage storage{};
    int rc = toSockaddr(address, &storage);
    auto* handle = new uv_tcp_t;
    uv_tcp_init(loop_, handle);
    handle->data = this;
    if (rc == 0 && reuse_port && ports.empty() && address.port != 0) {
      rc = checkPortFree(storage);
    }
    if (rc == 0 && reuse_port) {
      rc = bindReusePort(handle, storage);
    } else if (rc == 0) {
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
    uint16_t port =
        ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    listeners_.push_back(
        Listener{handle, formatAddress(reinterpret_cast<sockaddr*>(&bound)), port});
  }
  return okStatus();
}

std::vector<uint16_t> Server::boundPorts() const {
  std::vector<uint16_t> out;
  for (const Listener& listener : listeners_) {
    out.push_back(listener.port);
  }
  return out;
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
  if (!limit_->tryAcquire()) {
    // Returning without uv_accept leaves this connection with libuv, which
    // stops polling the listener until resumeAccepting takes it.
    for (Listener& entry : listeners_) {
      if (reinterpret_cast<uv_stream_t*>(entry.handle) == listener && !entry.waiting) {
        entry.waiting = true;
        limit_->listenerPaused();
      }
    }
    limit_->wait(this);
    return;
  }
  startConnection(listener);
}

void Server::startConnection(uv_stream_t* listener) {
  stats_.accepted++;
  accepted_->increment();
  auto* connection = new ClientConnection(this, runtime_, shared_->next_connection_id++);
  connections_.insert(connection);
  connection->start(listener);
}

void Server::wakeAccepting() {
  uv_async_send(control_);
}

void Server::postRuntime(std::shared_ptr<const Runtime> runtime) {
  {
    std::lock_guard<std::mutex> lock(control_mutex_);
    pending_runtime_ = std::move(runtime);
  }
  uv_async_send(control_);
}

void Server::postShutdown(uint32_t drain_ms) {
  {
    std::lock_guard<std::mutex> lock(control_mutex_);
    pending_shutdown_ms_ = drain_ms;
  }
  uv_async_send(control_);
}

void Server::onControl() {
  std::shared_ptr<const Runtime> runtime;
  std::optional<uint32_t> shutdown_ms;
  {
    std::lock_guard<std::mutex> lock(control_mutex_);
    runtime = std::move(pending_runtime_);
    shutdown_ms = pending_shutdown_ms_;
    pending_shutdown_ms_.reset();
  }
  if (runtime != nullptr) {
    // New connections get the new runtime; open ones switch at their next
    // request (ClientConnection compares with runtime()).
    runtime_ = std::move(runtime);
  }
  if (shutdown_ms) {
    startShutdown(*shutdown_ms);
  }
  resumeAccepting();
}

void Server::resumeAccepting() {
  for (Listener& entry : listeners_) {
    if (!entry.waiting || draining_) {
      continue;
    }
    if (!limit_->tryAcquire()) {
      limit_->wait(this);
      return;
    }
    entry.waiting = false;
    limit_->listenerResumed();
    // uv_accept in ClientConnection::start takes the waiting connection and
    // makes libuv poll the listener again.
    startConnection(reinterpret_cast<uv_stream_t*>(entry.handle));
  }
}

void Server::forget(ClientConnection* connection) {
  if (connections_.erase(connection) != 0) {
    limit_->release();
  }
  maybeFinishShutdown();
}

void Server::releaseUpstream(UpstreamLink* link) {
  std::vector<UpstreamLink*>& idle = pool_[link->address];
  if (draining_ || !link->idle || !link->connected || idle.size() >= kMaxPooledPerAddress) {
    link->close();
    return;
  }
  link->owner = nullptr;
  link->pool = this;
  link->setReading(true);  // to notice the upstream closing it
  idle.push_back(link);
}

UpstreamLink* Server::takeUpstream(const std::string& address, ClientConnection* owner,
                                   http::ParserHandler* handler) {
  auto found = pool_.find(address);
  if (found == pool_.end() || found->second.empty()) {
    return nullptr;
  }
  UpstreamLink* link = found->second.back();  // the most recently used
  found->second.pop_back();
  link->pool = nullptr;
  link->owner = owner;
  link->parser.setHandler(handler);
  return link;
}

void Server::dropPooled(UpstreamLink* link) {
  std::vector<UpstreamLink*>& idle = pool_[link->address];
  idle.erase(std::remove(idle.begin(), idle.end(), link), idle.end());
  link->pool = nullptr;
}

void Server::closePool() {
  for (auto& [address, links] : pool_) {
    for (UpstreamLink* link : links) {
      link->pool = nullptr;
      link->close();
    }
  }
  pool_.clear();
}

void Server::closeListeners() {
  for (Listener& listener : listeners_) {
    if (listener.waiting) {
      limit_->listenerResumed();
    }
    uv_close(reinterpret_cast<uv_handle_t*>(listener.handle), freeHandle);
  }
  listeners_.clear();
}

void Server::startShutdown(uint32_t drain_ms) {
  if (draining_) {
    return;
  }
  draining_ = true;
  closePool();
  log::info("server.draining", {{"worker", static_cast<uint64_t>(worker_)},
                                {"connections", static_cast<uint64_t>(connections_.size())},
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

void Server::recordHandshake(const char* failure_reason, bool resumed, double seconds) {
  if (failure_reason != nullptr) {
    stats_.handshakes_failed++;
    auto found = handshakes_rejected_.find(std::string_view(failure_reason));
    if (found == handshakes_rejected_.end()) {
      metrics::Counter* counter = metrics::registry().counterSeries(
          "certgate_handshakes_total", {{"result", "rejected"}, {"reason", failure_reason}});
      found = handshakes_rejected_.emplace(failure_reason, counter).first;
    }
    found->second->increment();
    return;
  }
  stats_.handshakes_ok++;
  (resumed ? handshakes_resumed_ : handshakes_full_)->increment();
  handshake_duration_->observe(seconds);
}

Server::RouteMetrics& Server::routeMetrics(const std::string& route) {
  auto found = route_metrics_.find(route);
  if (found == route_metrics_.end()) {
    RouteMetrics created;
    created.duration = metrics::registry().histogramSeries("certgate_request_duration_seconds",
                                                           {{"route", route}});
    found = route_metrics_.emplace(route, std::move(created)).first;
  }
  return found->second;
}

void Server::recordRequest(const std::string& route, const std::string& decision, int status,
                           double seconds) {
  stats_.requests++;
  RouteMetrics& metrics_for_route = routeMetrics(route);
  auto by_decision =
      std::find_if(metrics_for_route.requests.begin(), metrics_for_route.requests.end(),
                   [&](const auto& entry) { return entry.first == decision; });
  if (by_decision == metrics_for_route.requests.end()) {
    metrics_for_route.requests.emplace_back(decision, std::array<metrics::Counter*, 10>{});
    by_decision = metrics_for_route.requests.end() - 1;
  }
  // Status codes are 100-599 (0 when no response was sent); anything else
  // still gets its own series through the uncached path.
  size_t status_class = static_cast<size_t>(status / 100);
  bool cached = status >= 0 && status_class < by_decision->second.size();
  metrics::Counter* counter = cached ? by_decision->second[status_class] : nullptr;
  if (counter == nullptr) {
    counter = metrics::registry().counterSeries(
        "certgate_requests_total", {{"route", route},
                                    {"decision", decision},
                                    {"status_class", std::to_string(status / 100) + "xx"}});
    if (cached) {
      by_decision->second[status_class] = counter;
    }
  }
  counter->increment();
  metrics_for_route.duration->observe(seconds);
}

void Server::recordUpstreamDuration(const std::string& upstream, double seconds) {
  auto found = upstream_duration_.find(upstream);
  if (found == upstream_duration_.end()) {
    metrics::Histogram* histogram = metrics::registry().histogramSeries(
        "certgate_upstream_duration_seconds", {{"upstream", upstream}});
    found = upstream_duration_.emplace(upstream, histogram).first;
  }
  found->second->observe(seconds);
}

void Server::recordIdentity(const policy::Identity& identity, const std::string& decision) {
  shared_->inventory.record(identity, decision);
}

void Server::recordUpstreamResult(const std::string& upstream, const char* error_kind) {
  shared_->health.record(upstream, error_kind == nullptr);
  if (error_kind != nullptr) {
    metrics::registry().increment("certgate_upstream_errors_total",
                                  {{"upstream", upstream}, {"kind", error_kind}});
  }
}

const UpstreamAddress* Server::pickAddress(const Upstream& upstream,
                                           const std::vector<std::string>& tried) {
  const std::vector<UpstreamAddress>& addresses = upstream.addresses;
  if (addresses.empty()) {
    return nullptr;
  }
  time_t now = time(nullptr);
  size_t& next = next_address_[upstream.name];
  const UpstreamAddress* fallback = nullptr;
  for (size_t i = 0; i < addresses.size(); i++) {
    const UpstreamAddress& candidate = addresses[(next + i) % addresses.size()];
    if (std::find(tried.begin(), tried.end(), candidate.display) != tried.end()) {
      continue;
    }
    auto down = down_until_.find(candidate.display);
    if (down != down_until_.end() && down->second > now) {
      fallback = fallback != nullptr ? fallback : &candidate;
      continue;
    }
    next = (next + i + 1) % addresses.size();
    return &candidate;
  }
  // Every untried address failed recently: try one anyway rather than fail
  // without trying.
  return fallback;
}

void Server::markAddress(const std::string& address, bool ok) {
  if (ok) {
    down_until_.erase(address);
    return;
  }
  if (down_until_.count(address) == 0) {
    log::warn("upstream.address_down",
              {{"address", address}, {"skipped_for_s", static_cast<int64_t>(kDownSeconds)}});
  }
  down_until_[address] = time(nullptr) + kDownSeconds;
}

bool Server::shouldLogRejection(const std::string& key, uint64_t* out_suppressed) {
  return shared_->rejections.shouldLog(key, out_suppressed);
}

bool RejectionLog::shouldLog(const std::string& key, uint64_t* out_suppressed) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Bound the table: a scan from many addresses must not grow it forever.
  constexpr size_t kMaxTrackedAddresses = 10'000;
  if (counts_.size() >= kMaxTrackedAddresses && counts_.count(key) == 0) {
    counts_.clear();
  }
  Count& entry = counts_[key];
  entry.count++;
  if ((entry.count & (entry.count - 1)) != 0) {
    return false;
  }
  *out_suppressed = entry.count - entry.logged_at - 1;
  entry.logged_at = entry.count;
  return true;
}

}  // namespace gw::proxy
