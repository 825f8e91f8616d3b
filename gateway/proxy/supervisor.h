// Supervisor: the main thread's side of a gateway with worker threads.
//
// Each worker thread runs its own libuv loop with a Server: its own
// listening sockets (bound with SO_REUSEPORT when there are several
// workers, so the kernel spreads new connections between them), its own
// client connections and upstream pool. The Supervisor, on the main loop,
// loads configuration on start and reload and hands the new Runtime to every
// worker, drains them on shutdown, and renders the admin endpoints from the
// state the workers share (SharedState).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <uv.h>

#include "gateway/common/result.h"
#include "gateway/proxy/runtime.h"
#include "gateway/proxy/server.h"

namespace gw::proxy {

class Supervisor {
 public:
  // Supervisor borrows |loop|, the main thread's loop, which must outlive
  // it. |runtime->config.workers| sets the number of workers, where
  // kWorkersAuto means one per online CPU.
  Supervisor(uv_loop_t* loop, std::shared_ptr<const Runtime> runtime, std::string config_path);

  // The destructor waits for the worker threads, so call startShutdown
  // first unless listen failed.
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // listen binds every configured address in every worker. On failure
  // nothing is left listening and the error names the address.
  Status listen();

  // start runs each worker's loop on its own thread.
  void start();

  // watchPolicyFile reloads (as on SIGHUP) whenever the policy file
  // changes, when [policy] watch is set. The directory is watched, so an
  // editor that replaces the file by renaming is seen too.
  Status watchPolicyFile();

  // reload re-reads the configuration file and hands the new runtime to
  // every worker if every part of it loads; otherwise it logs the errors and
  // keeps the old one.
  void reload();

  // startShutdown makes every worker stop accepting and drain for at most
  // |drain_ms|. The worker threads end when their connections are closed;
  // then |on_drained| runs on the main loop (after start only). Until then
  // /readyz reports "draining".
  void startShutdown(uint32_t drain_ms, std::function<void()> on_drained = {});

  // join waits for every worker thread to end.
  void join();

  const std::shared_ptr<const Runtime>& runtime() const { return runtime_; }
  size_t workerCount() const { return workers_.size(); }

  // The listening addresses as bound, for the banner (the same in every
  // worker).
  const std::vector<std::string>& boundAddresses() const { return bound_addresses_; }

  // stats sums the workers' counters. Read it after join.
  ServerStats stats() const;

  // Admin endpoints: /metrics, /readyz and /identities.
  std::string renderMetrics();
  bool ready(std::string* out_reason) const;
  std::string identitiesJson() const { return shared_.inventory.toJson(); }

 private:
  struct Worker {
    uv_loop_t loop;
    std::unique_ptr<Server> server;  // destroyed on the worker thread when its loop ends
    std::thread thread;
    ServerStats final_stats;  // the server's stats, copied before it is destroyed
  };

  void closePolicyWatch();
  static void onWorkerDone(uv_async_t* async);

  uv_loop_t* loop_;
  std::shared_ptr<const Runtime> runtime_;
  std::string config_path_;
  SharedState shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::string> bound_addresses_;  // worker 0's, read without touching its loop
  bool stopping_ = false;
  uv_async_t* workers_done_async_ = nullptr;  // heap; freed in its close callback
  std::atomic<size_t> workers_done_{0};
  std::function<void()> on_drained_;
  uv_fs_event_t* policy_watch_ = nullptr;  // heap; freed in its close callback
  uv_timer_t* policy_debounce_ = nullptr;  // heap; freed in its close callback
};

}  // namespace gw::proxy
