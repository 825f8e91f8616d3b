#include "gateway/proxy/server.h"

#include <algorithm>
#include <arpa/inet.h>

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

}  // namespace

static void describeMetrics() {
  metrics::Registry& registry = metrics::registry();
  registry.describe("certgate_handshakes_total", "counter",
                    "TLS handshakes by result (ok, rejected) and reason (full, resumed, or the "
                    "rejection reason code)");
  registry.describe("certgate_handshake_duration_seconds", "histogram",
                    "Time from accept to a completed handshake");
  registry.describe("certgate_requests_total", "counter",
                    "Requests by route, decision and response status class");
  registry.describe("certgate_request_duration_seconds", "histogram",
                    "Time from request head to the end of the response, by route");
  registry.describe("certgate_upstream_duration_seconds", "histogram",
                    "Time from sending a request upstream to the response head, by upstream");
  registry.describe("certgate_upstream_errors_total", "counter",
                    "Failed upstream exchanges by upstream and kind");
  registry.describe("certgate_upstream_healthy", "gauge",
                    "1 if the upstream's last exchange succeeded, 0 if it failed");
  registry.describe("certgate_connections_active", "gauge", "Open client connections");
  registry.describe("certgate_connection_limit_reached_total", "counter",
                    "Times [limits] max_connections was reached and listeners stopped accepting");
  registry.describe("certgate_listeners_paused", "gauge",
                    "Listeners that wait for a free connection slot under [limits] "
                    "max_connections");
  registry.increment("certgate_connection_limit_reached_total", {}, 0);
  registry.describe("certgate_reloads_total", "counter", "Configuration reloads by result");
  registry.describe("certgate_config_version", "gauge",
                    "Configuration version, 0 at start, +1 per successful reload");
  registry.describe("certgate_certificate_expiry_seconds", "gauge",
                    "Seconds until the server certificate or a client CA expires");
  registry.describe("certgate_client_identities", "gauge",
                    "Distinct client certificates seen since start, and how many of them "
                    "expire within 7 and 30 days");
}

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
  if (!has_waiters_.load()) {
    return;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  for (Server* server : waiters_) {
    server->wakeAccepting();
  }
  waiters_.clear();
  has_waiters_.store(false);
  uint32_t low_water = max_.load() / 10 * 9;
  if (saturated_ && remaining <= low_water) {
    saturated_ = false;
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
    if (!saturated_) {
      saturated_ = true;
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

Server::Server(uv_loop_t* loop, std::shared_ptr<const Runtime> runtime, std::string config_path,
               ConnectionLimit* limit)
    : loop_(loop),
      runtime_(std::move(runtime)),
      config_path_(std::move(config_path)),
      limit_(limit) {
  describeMetrics();
  metrics::Registry& registry = metrics::registry();
  handshakes_full_ =
      registry.counterSeries("certgate_handshakes_total", {{"result", "ok"}, {"reason", "full"}});
  handshakes_resumed_ = registry.counterSeries("certgate_handshakes_total",
                                               {{"result", "ok"}, {"reason", "resumed"}});
  handshake_duration_ = registry.histogramSeries("certgate_handshake_duration_seconds");
  wake_ = new uv_async_t;
  uv_async_init(loop_, wake_,
                [](uv_async_t* async) { static_cast<Server*>(async->data)->resumeAccepting(); });
  wake_->data = this;
  // The wake-up handle alone must not keep the loop running after a drain.
  uv_unref(reinterpret_cast<uv_handle_t*>(wake_));
}

Server::~Server() {
  limit_->removeWaiter(this);
  uv_close(reinterpret_cast<uv_handle_t*>(wake_),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_async_t*>(handle); });
  closeListeners();
  closePool();
  if (policy_watch_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(policy_watch_),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_fs_event_t*>(handle); });
    uv_close(reinterpret_cast<uv_handle_t*>(policy_debounce_), freeTimer);
  }
  for (ClientConnection* connection : std::unordered_set<ClientConnection*>(connections_)) {
    connection->closeNow();
  }
}

Status Server::listen() {
  for (const config::ListenAddress& address : runtime_->config.listen) {
    std::string text = listenAddressText(address);
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
  auto* connection = new ClientConnection(this, runtime_, next_id_++);
  connections_.insert(connection);
  connection->start(listener);
}

void Server::wakeAccepting() {
  uv_async_send(wake_);
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
  if (policy_watch_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(policy_watch_),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_fs_event_t*>(handle); });
    uv_close(reinterpret_cast<uv_handle_t*>(policy_debounce_), freeTimer);
    policy_watch_ = nullptr;
    policy_debounce_ = nullptr;
  }
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

// describeChanges lists what differs between two configurations, for the
// reload log line: "routes 2->3, upstream demo, client CA file contents".
static std::string describeChanges(const Runtime& before, const Runtime& after) {
  std::vector<std::string> changes;
  const auto& old_routes = before.policy.routes();
  const auto& new_routes = after.policy.routes();
  if (old_routes.size() != new_routes.size()) {
    changes.push_back("routes " + std::to_string(old_routes.size()) + "->" +
                      std::to_string(new_routes.size()));
  } else {
    for (size_t i = 0; i < old_routes.size(); i++) {
      const policy::Route& a = old_routes[i];
      const policy::Route& b = new_routes[i];
      if (a.pattern() != b.pattern() || a.host != b.host || a.upstream != b.upstream ||
          a.allow.size() != b.allow.size() || a.deny.size() != b.deny.size() ||
          a.allow_cn != b.allow_cn) {
        changes.push_back("route " + b.pattern());
      }
    }
  }
  for (const auto& [name, upstream] : after.upstreams) {
    auto found = before.upstreams.find(name);
    if (found == before.upstreams.end() || found->second.display != upstream.display) {
      changes.push_back("upstream " + name);
    }
  }
  if (before.expiries.size() != after.expiries.size()) {
    changes.push_back("certificates");
  } else {
    for (size_t i = 0; i < before.expiries.size(); i++) {
      if (before.expiries[i].subject != after.expiries[i].subject ||
          before.expiries[i].not_after != after.expiries[i].not_after) {
        changes.push_back("certificates");
        break;
      }
    }
  }
  if (before.config.tls.crl_file != after.config.tls.crl_file) {
    changes.push_back("CRL file");
  }
  std::string out;
  for (const std::string& change : changes) {
    out += (out.empty() ? "" : ", ") + change;
  }
  return out.empty() ? "none detected (files reread: CRL and key contents may differ)" : out;
}

Status Server::watchPolicyFile() {
  const std::string& file = runtime_->config.policy.file;
  std::string directory =
      file.substr(0, file.rfind('/') == std::string::npos ? 0 : file.rfind('/'));
  if (directory.empty()) {
    directory = ".";
  }
  policy_watch_ = new uv_fs_event_t;
  policy_debounce_ = new uv_timer_t;
  uv_fs_event_init(loop_, policy_watch_);
  uv_timer_init(loop_, policy_debounce_);
  policy_watch_->data = this;
  policy_debounce_->data = this;
  int rc = uv_fs_event_start(
      policy_watch_,
      [](uv_fs_event_t* handle, const char* name, int, int status) {
        auto* self = static_cast<Server*>(handle->data);
        const std::string& path = self->runtime_->config.policy.file;
        std::string base = path.substr(path.rfind('/') + 1);
        if (status != 0 || name == nullptr || base != name) {
          return;
        }
        // Editors write in several steps; reload once things settle.
        uv_timer_start(
            self->policy_debounce_,
            [](uv_timer_t* timer) {
              auto* server = static_cast<Server*>(timer->data);
              log::info("server.reloading", {{"cause", "policy file changed"}});
              server->reload();
            },
            200, 0);
      },
      directory.c_str(), 0);
  if (rc != 0) {
    return Error{"cannot watch " + directory + " for policy changes: " + uv_strerror(rc)};
  }
  return okStatus();
}

void Server::reload() {
  auto config = config::loadGatewayConfig(config_path_);
  if (!config) {
    log::error("config.reload_failed", {{"file", config_path_}, {"error", config.error()}});
    metrics::registry().increment("certgate_reloads_total", {{"result", "failure"}});
    return;
  }
  auto runtime = buildRuntime(std::move(*config));
  if (!runtime) {
    log::error("config.reload_failed", {{"file", config_path_}, {"error", runtime.error()}});
    metrics::registry().increment("certgate_reloads_total", {{"result", "failure"}});
    return;
  }
  // Listen addresses are bound at start; a reload that changes them takes
  // effect only after a restart.
  auto next = std::const_pointer_cast<Runtime>(*runtime);
  next->version = runtime_->version + 1;
  std::string changes = describeChanges(*runtime_, *next);
  runtime_ = std::move(next);
  limit_->setMax(runtime_->config.limits.max_connections);
  wakeAccepting();  // a higher limit frees slots for waiting listeners
  metrics::registry().increment("certgate_reloads_total", {{"result", "success"}});
  log::info("config.reloaded", {{"file", config_path_},
                                {"version", runtime_->version},
                                {"routes", static_cast<uint64_t>(runtime_->policy.routes().size())},
                                {"changed", changes}});
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
  inventory_.record(identity, decision);
}

void Server::recordUpstreamResult(const std::string& upstream, const char* error_kind) {
  // One failed exchange can be one client's doing; three in a row without
  // a success mark the upstream unhealthy for /readyz.
  constexpr int kFailuresUntilUnhealthy = 3;
  int& failures = upstream_failures_[upstream];
  failures = error_kind == nullptr ? 0 : failures + 1;
  bool healthy = failures < kFailuresUntilUnhealthy;
  auto [entry, inserted] = upstream_healthy_.emplace(upstream, healthy);
  if (!inserted && entry->second != healthy) {
    log::warn("upstream.health_changed",
              {{"upstream", upstream}, {"healthy", healthy ? "true" : "false"}});
  }
  entry->second = healthy;
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
  // Bound the table: a scan from many addresses must not grow it forever.
  constexpr size_t kMaxTrackedAddresses = 10'000;
  if (rejections_.size() >= kMaxTrackedAddresses && rejections_.count(key) == 0) {
    rejections_.clear();
  }
  RejectionCount& entry = rejections_[key];
  entry.count++;
  if ((entry.count & (entry.count - 1)) != 0) {
    return false;
  }
  *out_suppressed = entry.count - entry.logged_at - 1;
  entry.logged_at = entry.count;
  return true;
}

bool Server::ready(std::string* out_reason) const {
  if (draining_) {
    *out_reason = "draining";
    return false;
  }
  if (listeners_.empty()) {
    *out_reason = "no listener bound";
    return false;
  }
  for (const auto& [upstream, healthy] : upstream_healthy_) {
    if (!healthy) {
      *out_reason = "upstream " + upstream + " failed its last 3 requests";
      return false;
    }
  }
  *out_reason = "ok";
  return true;
}

std::string Server::renderMetrics() {
  metrics::Registry& registry = metrics::registry();
  time_t now = time(nullptr);
  registry.setGauge("certgate_connections_active", {}, static_cast<double>(connections_.size()));
  registry.setGauge("certgate_listeners_paused", {},
                    static_cast<double>(limit_->pausedListeners()));
  registry.setGauge("certgate_config_version", {}, static_cast<double>(runtime_->version));
  for (const tls::CertificateExpiry& expiry : runtime_->expiries) {
    time_t not_after = parseRfc3339(expiry.not_after);
    registry.setGauge("certgate_certificate_expiry_seconds",
                      {{"role", expiry.role}, {"subject", expiry.subject}},
                      static_cast<double>(not_after - now));
  }
  for (const auto& [upstream, healthy] : upstream_healthy_) {
    registry.setGauge("certgate_upstream_healthy", {{"upstream", upstream}}, healthy ? 1 : 0);
  }
  registry.setGauge("certgate_client_identities", {{"window", "all"}},
                    static_cast<double>(inventory_.size()));
  registry.setGauge("certgate_client_identities", {{"window", "expiring_7d"}},
                    static_cast<double>(inventory_.countExpiringWithin(now, 7 * 86400)));
  registry.setGauge("certgate_client_identities", {{"window", "expiring_30d"}},
                    static_cast<double>(inventory_.countExpiringWithin(now, 30 * 86400)));
  return registry.render();
}

}  // namespace gw::proxy
