#include "gateway/proxy/supervisor.h"

#include <algorithm>
#include <unistd.h>

#include "gateway/common/log.h"
#include "gateway/common/metrics.h"
#include "gateway/config/load.h"
#include "gateway/tls/verified_chain_cache.h"

namespace gw::proxy {
namespace {

void freeTimer(uv_handle_t* handle) {
  delete reinterpret_cast<uv_timer_t*>(handle);
}

uint32_t resolveWorkerCount(uint32_t configured) {
  if (configured != config::GatewayConfig::kWorkersAuto) {
    return configured;
  }
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  return static_cast<uint32_t>(
      std::clamp<long>(online, 1, static_cast<long>(config::GatewayConfig::kMaxWorkers)));
}

void describeMetrics() {
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
                    "0 after 3 failed exchanges with the upstream in a row, 1 again after one "
                    "succeeds");
  registry.describe("certgate_connections_active", "gauge", "Open client connections");
  registry.describe("certgate_connection_limit_reached_total", "counter",
                    "Times [limits] max_connections was reached and listeners stopped accepting");
  registry.increment("certgate_connection_limit_reached_total", {}, 0);
  registry.describe("certgate_listeners_paused", "gauge",
                    "Listeners that wait for a free connection slot under [limits] "
                    "max_connections");
  registry.describe("certgate_workers", "gauge", "Worker threads serving client connections");
  registry.describe("certgate_connections_accepted_total", "counter",
                    "Client connections accepted, by worker thread");
  registry.describe("certgate_reloads_total", "counter", "Configuration reloads by result");
  registry.describe("certgate_reload_duration_seconds", "gauge",
                    "Time the last successful reload took, from reading the files to the swap");
  registry.describe("certgate_config_version", "gauge",
                    "Configuration version, 0 at start, +1 per successful reload");
  registry.describe("certgate_certificate_expiry_seconds", "gauge",
                    "Seconds until the server certificate or a client CA expires, or a CRL (role "
                    "crl) reaches its nextUpdate");
  registry.describe("certgate_client_identities", "gauge",
                    "Distinct client certificates seen since start, and how many of them "
                    "expire within 7 and 30 days");
  registry.describe("certgate_chain_cache_lookups_total", "counter",
                    "Lookups in the cache of verified client certificate chains, by result "
                    "(hit: the CA signature check was skipped)");
  registry.describe("certgate_chain_cache_evictions_total", "counter",
                    "Verified chains dropped from the full cache, least recently used first");
  registry.describe("certgate_chain_cache_entries", "gauge", "Verified chains in the cache");
}

// describeChanges lists what differs between two configurations, for the
// reload log line: "routes 2->3, upstream demo, client CA file contents".
// |running_workers| is the number of workers started, which a reload does
// not change.
std::string describeChanges(const Runtime& before, const Runtime& after, size_t running_workers) {
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
  if (before.config.tls.client_cert != after.config.tls.client_cert) {
    changes.push_back("client_cert " + before.config.tls.client_cert + "->" +
                      after.config.tls.client_cert);
  }
  if (before.config.tls.min_version != after.config.tls.min_version) {
    changes.push_back("min_version " + before.config.tls.min_version + "->" +
                      after.config.tls.min_version);
  }
  if (resolveWorkerCount(after.config.workers) != running_workers) {
    changes.push_back("workers " + std::to_string(running_workers) + "->" +
                      std::to_string(resolveWorkerCount(after.config.workers)) +
                      " (takes effect after a restart)");
  }
  std::string out;
  for (const std::string& change : changes) {
    out += (out.empty() ? "" : ", ") + change;
  }
  return out.empty() ? "none detected (files reread: CRL and key contents may differ)" : out;
}

}  // namespace

Supervisor::Supervisor(uv_loop_t* loop, std::shared_ptr<const Runtime> runtime,
                       std::string config_path)
    : loop_(loop),
      runtime_(std::move(runtime)),
      config_path_(std::move(config_path)),
      shared_(runtime_->config.limits.max_connections) {
  describeMetrics();
  uint32_t count = resolveWorkerCount(runtime_->config.workers);
  metrics::registry().setGauge("certgate_workers", {}, count);
  for (uint32_t i = 0; i < count; i++) {
    auto worker = std::make_unique<Worker>();
    uv_loop_init(&worker->loop);
    worker->server = std::make_unique<Server>(&worker->loop, runtime_, &shared_, i);
    workers_.push_back(std::move(worker));
  }
}

Supervisor::~Supervisor() {
  closePolicyWatch();
  join();
  for (std::unique_ptr<Worker>& worker : workers_) {
    if (worker->server == nullptr) {
      continue;  // destroyed on its thread
    }
    // listen failed or start was never called: the loop never ran.
    worker->server.reset();
    uv_run(&worker->loop, UV_RUN_DEFAULT);
    uv_loop_close(&worker->loop);
  }
}

Status Supervisor::listen() {
  // With several workers every socket needs SO_REUSEPORT, and the first
  // worker's bound ports (chosen by the kernel for port 0) are reused by the
  // others.
  bool reuse_port = workers_.size() > 1;
  std::vector<uint16_t> ports;
  for (std::unique_ptr<Worker>& worker : workers_) {
    Status status = worker->server->listen(reuse_port, ports);
    if (!status) {
      for (std::unique_ptr<Worker>& other : workers_) {
        other->server->closeListeners();
      }
      return status;
    }
    if (ports.empty()) {
      ports = worker->server->boundPorts();
      bound_addresses_ = worker->server->boundAddresses();
    }
  }
  return okStatus();
}

void Supervisor::start() {
  workers_done_async_ = new uv_async_t;
  uv_async_init(loop_, workers_done_async_, onWorkerDone);
  workers_done_async_->data = this;
  for (std::unique_ptr<Worker>& worker : workers_) {
    Worker* raw = worker.get();
    raw->thread = std::thread([this, raw] {
      uv_run(&raw->loop, UV_RUN_DEFAULT);
      raw->final_stats = raw->server->stats();
      // Let close callbacks of anything the server closes in its destructor
      // run on this thread, where every handle of this loop lives.
      raw->server.reset();
      uv_run(&raw->loop, UV_RUN_DEFAULT);
      if (uv_loop_close(&raw->loop) != 0) {
        log::warn("server.loop_not_closed", {});
      }
      workers_done_.fetch_add(1);
      uv_async_send(workers_done_async_);
    });
  }
}

void Supervisor::onWorkerDone(uv_async_t* async) {
  auto* self = static_cast<Supervisor*>(async->data);
  if (self->workers_done_.load() < self->workers_.size()) {
    return;
  }
  // The last worker may still be inside uv_async_send: wait until every
  // thread has ended before the handle is closed.
  self->join();
  uv_close(reinterpret_cast<uv_handle_t*>(self->workers_done_async_),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_async_t*>(handle); });
  self->workers_done_async_ = nullptr;
  if (std::function<void()> on_drained = std::move(self->on_drained_)) {
    on_drained();
  }
}

void Supervisor::join() {
  for (std::unique_ptr<Worker>& worker : workers_) {
    if (worker->thread.joinable()) {
      worker->thread.join();
    }
  }
}

ServerStats Supervisor::stats() const {
  ServerStats total;
  for (const std::unique_ptr<Worker>& worker : workers_) {
    const ServerStats& stats = worker->final_stats;
    total.accepted += stats.accepted;
    total.handshakes_ok += stats.handshakes_ok;
    total.handshakes_failed += stats.handshakes_failed;
    total.requests += stats.requests;
  }
  return total;
}

void Supervisor::startShutdown(uint32_t drain_ms, std::function<void()> on_drained) {
  if (stopping_) {
    return;
  }
  stopping_ = true;
  on_drained_ = std::move(on_drained);
  closePolicyWatch();
  for (std::unique_ptr<Worker>& worker : workers_) {
    worker->server->postShutdown(drain_ms);
  }
}

void Supervisor::closePolicyWatch() {
  if (policy_watch_ == nullptr) {
    return;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(policy_watch_),
           [](uv_handle_t* handle) { delete reinterpret_cast<uv_fs_event_t*>(handle); });
  uv_close(reinterpret_cast<uv_handle_t*>(policy_debounce_), freeTimer);
  policy_watch_ = nullptr;
  policy_debounce_ = nullptr;
}

Status Supervisor::watchPolicyFile() {
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
        auto* self = static_cast<Supervisor*>(handle->data);
        const std::string& path = self->runtime_->config.policy.file;
        std::string base = path.substr(path.rfind('/') + 1);
        if (status != 0 || name == nullptr || base != name) {
          return;
        }
        // Editors write in several steps; reload once things settle.
        uv_timer_start(
            self->policy_debounce_,
            [](uv_timer_t* timer) {
              auto* supervisor = static_cast<Supervisor*>(timer->data);
              log::info("server.reloading", {{"cause", "policy file changed"}});
              supervisor->reload();
            },
            200, 0);
      },
      directory.c_str(), 0);
  if (rc != 0) {
    return Error{"cannot watch " + directory + " for policy changes: " + uv_strerror(rc)};
  }
  return okStatus();
}

void Supervisor::reload() {
  if (stopping_) {
    return;
  }
  uint64_t started_ns = uv_hrtime();
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
  // Listen addresses and the number of workers are set at start; a reload
  // that changes them takes effect only after a restart.
  auto next = std::const_pointer_cast<Runtime>(*runtime);
  next->version = runtime_->version + 1;
  std::string changes = describeChanges(*runtime_, *next, workers_.size());
  runtime_ = std::move(next);
  shared_.limit.setMax(runtime_->config.limits.max_connections);
  for (std::unique_ptr<Worker>& worker : workers_) {
    worker->server->postRuntime(runtime_);
  }
  double seconds = static_cast<double>(uv_hrtime() - started_ns) / 1e9;
  metrics::registry().increment("certgate_reloads_total", {{"result", "success"}});
  metrics::registry().setGauge("certgate_reload_duration_seconds", {}, seconds);
  logConfigWarnings(*runtime_);
  log::info("config.reloaded", {{"file", config_path_},
                                {"version", runtime_->version},
                                {"routes", static_cast<uint64_t>(runtime_->policy.routes().size())},
                                {"changed", changes},
                                {"duration_ms", seconds * 1000}});
}

bool Supervisor::ready(std::string* out_reason) const {
  if (stopping_) {
    *out_reason = "draining";
    return false;
  }
  if (boundAddresses().empty()) {
    *out_reason = "no listener bound";
    return false;
  }
  std::string unhealthy = shared_.health.firstUnhealthy();
  if (!unhealthy.empty()) {
    *out_reason = "upstream " + unhealthy + " failed its last 3 requests";
    return false;
  }
  *out_reason = "ok";
  return true;
}

std::string Supervisor::renderMetrics() {
  metrics::Registry& registry = metrics::registry();
  time_t now = time(nullptr);
  registry.setGauge("certgate_connections_active", {}, static_cast<double>(shared_.limit.active()));
  registry.setGauge("certgate_listeners_paused", {},
                    static_cast<double>(shared_.limit.pausedListeners()));
  registry.setGauge("certgate_config_version", {}, static_cast<double>(runtime_->version));
  for (const tls::CertificateExpiry& expiry : runtime_->expiries) {
    time_t not_after = parseRfc3339(expiry.not_after);
    registry.setGauge("certgate_certificate_expiry_seconds",
                      {{"role", expiry.role}, {"subject", expiry.subject}},
                      static_cast<double>(not_after - now));
  }
  for (const auto& [upstream, healthy] : shared_.health.snapshot()) {
    registry.setGauge("certgate_upstream_healthy", {{"upstream", upstream}}, healthy ? 1 : 0);
  }
  const IdentityInventory& inventory = shared_.inventory;
  registry.setGauge("certgate_client_identities", {{"window", "all"}},
                    static_cast<double>(inventory.size()));
  registry.setGauge("certgate_client_identities", {{"window", "expiring_7d"}},
                    static_cast<double>(inventory.countExpiringWithin(now, 7 * 86400)));
  registry.setGauge("certgate_client_identities", {{"window", "expiring_30d"}},
                    static_cast<double>(inventory.countExpiringWithin(now, 30 * 86400)));
  tls::VerifiedChainCache& cache = tls::processChainCache();
  tls::VerifiedChainCache::Stats cache_stats = cache.stats();
  registry.counterSeries("certgate_chain_cache_lookups_total", {{"result", "hit"}})
      ->set(cache_stats.hits);
  registry.counterSeries("certgate_chain_cache_lookups_total", {{"result", "miss"}})
      ->set(cache_stats.misses);
  registry.counterSeries("certgate_chain_cache_evictions_total")->set(cache_stats.evictions);
  registry.setGauge("certgate_chain_cache_entries", {}, static_cast<double>(cache.size()));
  return registry.render();
}

}  // namespace gw::proxy
