// Counters, latency percentiles and CPU use of one run, and the report.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "bench/options.h"

namespace bench {

enum class FailureKind {
  Connect,    // TCP connect failed
  Handshake,  // TLS handshake failed or the server rejected it with an alert
  Status,     // the response status was not --expect-status
  Timeout,    // the operation took longer than --timeout
  Io,         // read or write error, early close, invalid HTTP
};
constexpr size_t kFailureKinds = 5;

const char* failureKindName(FailureKind kind);

// User and system CPU time, in seconds.
struct CpuTime {
  double user_s = 0;
  double sys_s = 0;

  double total() const { return user_s + sys_s; }
};
CpuTime processCpuTime();      // all threads of this process
CpuTime threadCpuTime();       // the calling thread only
uint32_t affinityCoreCount();  // CPUs this process may run on, at least 1

class Stats {
 public:
  void recordSuccess(uint64_t latency_ns, bool resumed);
  void recordFailure(FailureKind kind, const std::string& detail);
  void recordConnectionOpened() { ++connections_opened_; }

  uint64_t successes() const { return latencies_us_.size(); }
  uint64_t failures() const;

  // Idle mode only: how many connections were closed by the server while
  // held, and how many were still open when the hold ended.
  void setIdleResult(uint64_t lost, uint64_t held) {
    idle_lost_ = lost;
    idle_held_ = held;
  }

  // Records the CPU time one generator thread used during the run.
  void recordThreadCpu(double seconds) { thread_cpu_s_.push_back(seconds); }

  // Adds the counts, latencies and thread CPU times of |other|, the stats
  // of another thread of the same run. Call it before finish().
  void merge(const Stats& other);

  // Freezes the wall time and CPU use measured from |start|. |cores| is
  // how many cores the generator's threads could use at once, which sets
  // the process CPU use that counts as saturated.
  void finish(uint64_t start_ns, uint64_t end_ns, CpuTime cpu_start, CpuTime cpu_end,
              uint32_t cores = 1);

  void printText(std::FILE* out, const Options& options) const;
  std::string toJson(const Options& options) const;

 private:
  struct Failures {
    uint64_t total = 0;
    std::map<std::string, uint64_t> by_detail;
  };

  double percentileMs(double fraction) const;
  double opsPerSecond() const;
  double cpuPercent() const;
  double maxThreadCpuPercent() const;
  // True when the process used 95% of the cores it could use, or one
  // thread used 95% of its core, so the generator may have set the rate.
  bool saturated() const;
  void printFailures(std::FILE* out) const;
  std::string failuresJson() const;

  // Sorted by finish(); microseconds fit 71 minutes in 32 bits.
  std::vector<uint32_t> latencies_us_;
  uint64_t resumed_ = 0;
  uint64_t connections_opened_ = 0;
  std::array<Failures, kFailureKinds> failures_;
  uint64_t idle_lost_ = 0;
  uint64_t idle_held_ = 0;
  double elapsed_s_ = 0;
  CpuTime cpu_;
  uint32_t cores_ = 1;
  std::vector<double> thread_cpu_s_;
};

}  // namespace bench
