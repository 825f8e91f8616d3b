#include "bench/load_threads.h"

#include <algorithm>
#include <atomic>
#include <barrier>
#include <memory>
#include <thread>
#include <vector>

#include <uv.h>

#include "bench/runner.h"
#include "bench/tls_client.h"

namespace bench {
namespace {

// One generator thread and what it leaves behind for the merge.
struct Worker {
  Options options;
  ConnectionConfig config;
  std::unique_ptr<ClientTlsContext> tls;
  Stats stats;
  std::string error;  // set when priming failed
  int loop_close_status = 0;
};

// Records the wall time and the process CPU time. A barrier runs it once,
// when the last thread arrives and before any of them continues.
struct ClockStamp {
  uint64_t* ns;
  CpuTime* cpu;

  void operator()() noexcept {
    *ns = uv_hrtime();
    *cpu = processCpuTime();
  }
};
using ThreadBarrier = std::barrier<ClockStamp>;

void runWorker(Worker& worker, ThreadBarrier& started, ThreadBarrier& finished,
               std::atomic<bool>& priming_failed) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    Runner runner(&loop, worker.options, worker.config, *worker.tls);
    if (!runner.prepare(&worker.error)) {
      priming_failed = true;
    }
    // Every thread primes before any starts, so the measurement never
    // includes another thread's priming.
    started.arrive_and_wait();
    if (!priming_failed) {
      CpuTime cpu_start = threadCpuTime();
      runner.run();
      worker.stats = runner.stats();
      worker.stats.recordThreadCpu(threadCpuTime().total() - cpu_start.total());
    }
    finished.arrive_and_wait();
    runner.shutdown();
  }
  worker.loop_close_status = uv_loop_close(&loop);
}

}  // namespace

uint64_t shareOf(uint64_t total, uint32_t parts, uint32_t index) {
  return total / parts + (index < total % parts ? 1 : 0);
}

Options threadOptions(const Options& options, uint32_t index) {
  Options share = options;
  share.threads = 1;
  share.concurrency = static_cast<uint32_t>(shareOf(options.concurrency, options.threads, index));
  if (options.count) {
    share.count = shareOf(*options.count, options.threads, index);
  }
  return share;
}

LoadStatus runLoad(const Options& options, const ConnectionConfig& config, Stats* stats,
                   std::string* error, std::string* loop_warning) {
  std::vector<Worker> workers(options.threads);
  for (uint32_t i = 0; i < options.threads; ++i) {
    Worker& worker = workers[i];
    worker.options = threadOptions(options, i);
    worker.tls = ClientTlsContext::create(worker.options, error);
    if (!worker.tls) {
      return LoadStatus::TlsFailed;
    }
    worker.config = config;
    worker.config.tls = worker.tls.get();
  }

  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  CpuTime cpu_start;
  CpuTime cpu_end;
  auto thread_count = static_cast<std::ptrdiff_t>(options.threads);
  ThreadBarrier started(thread_count, ClockStamp{&start_ns, &cpu_start});
  ThreadBarrier finished(thread_count, ClockStamp{&end_ns, &cpu_end});
  std::atomic<bool> priming_failed = false;
  std::vector<std::thread> threads;
  for (Worker& worker : workers) {
    threads.emplace_back([&worker, &started, &finished, &priming_failed] {
      runWorker(worker, started, finished, priming_failed);
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }

  for (const Worker& worker : workers) {
    if (worker.loop_close_status != 0) {
      *loop_warning = uv_strerror(worker.loop_close_status);
    }
  }
  if (priming_failed) {
    for (const Worker& worker : workers) {
      if (!worker.error.empty()) {
        *error = worker.error;
        break;
      }
    }
    return LoadStatus::PrimingFailed;
  }
  *stats = workers[0].stats;
  for (size_t i = 1; i < workers.size(); ++i) {
    stats->merge(workers[i].stats);
  }
  uint32_t cores = std::min(options.threads, affinityCoreCount());
  stats->finish(start_ns, end_ns, cpu_start, cpu_end, cores);
  return LoadStatus::Finished;
}

}  // namespace bench
