#include "bench/stats.h"

#include <algorithm>
#include <cmath>
#include <sched.h>
#include <sys/resource.h>

namespace bench {
namespace {

constexpr std::array<FailureKind, kFailureKinds> kAllFailureKinds = {
    FailureKind::Connect, FailureKind::Handshake, FailureKind::Status, FailureKind::Timeout,
    FailureKind::Io};

double seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

std::string jsonString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string jsonNumber(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3f", std::isfinite(value) ? value : 0.0);
  return text;
}

}  // namespace

const char* failureKindName(FailureKind kind) {
  switch (kind) {
    case FailureKind::Connect:
      return "connect";
    case FailureKind::Handshake:
      return "handshake";
    case FailureKind::Status:
      return "status";
    case FailureKind::Timeout:
      return "timeout";
    case FailureKind::Io:
      return "io";
  }
  return "unknown";
}

CpuTime processCpuTime() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return {seconds(usage.ru_utime), seconds(usage.ru_stime)};
}

CpuTime threadCpuTime() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return {seconds(usage.ru_utime), seconds(usage.ru_stime)};
}

uint32_t affinityCoreCount() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) {
    return 1;
  }
  return static_cast<uint32_t>(std::max(1, CPU_COUNT(&set)));
}

void Stats::recordSuccess(uint64_t latency_ns, bool resumed) {
  uint64_t us = latency_ns / 1000;
  latencies_us_.push_back(static_cast<uint32_t>(std::min<uint64_t>(us, UINT32_MAX)));
  if (resumed) {
    ++resumed_;
  }
}

void Stats::recordFailure(FailureKind kind, const std::string& detail) {
  Failures& failures = failures_[static_cast<size_t>(kind)];
  ++failures.total;
  ++failures.by_detail[detail];
}

uint64_t Stats::failures() const {
  uint64_t total = 0;
  for (const Failures& failures : failures_) {
    total += failures.total;
  }
  return total;
}

void Stats::merge(const Stats& other) {
  latencies_us_.insert(latencies_us_.end(), other.latencies_us_.begin(), other.latencies_us_.end());
  resumed_ += other.resumed_;
  connections_opened_ += other.connections_opened_;
  for (size_t i = 0; i < kFailureKinds; ++i) {
    failures_[i].total += other.failures_[i].total;
    for (const auto& [detail, count] : other.failures_[i].by_detail) {
      failures_[i].by_detail[detail] += count;
    }
  }
  idle_lost_ += other.idle_lost_;
  idle_held_ += other.idle_held_;
  thread_cpu_s_.insert(thread_cpu_s_.end(), other.thread_cpu_s_.begin(), other.thread_cpu_s_.end());
}

void Stats::finish(uint64_t start_ns, uint64_t end_ns, CpuTime cpu_start, CpuTime cpu_end,
                   uint32_t cores) {
  elapsed_s_ = static_cast<double>(end_ns - start_ns) / 1e9;
  cpu_.user_s = cpu_end.user_s - cpu_start.user_s;
  cpu_.sys_s = cpu_end.sys_s - cpu_start.sys_s;
  cores_ = std::max<uint32_t>(cores, 1);
  std::sort(latencies_us_.begin(), latencies_us_.end());
}

double Stats::percentileMs(double fraction) const {
  if (latencies_us_.empty()) {
    return 0;
  }
  // Nearest-rank percentile over the sorted latencies.
  size_t rank =
      static_cast<size_t>(std::ceil(fraction * static_cast<double>(latencies_us_.size())));
  size_t index = std::clamp<size_t>(rank, 1, latencies_us_.size()) - 1;
  return latencies_us_[index] / 1000.0;
}

double Stats::opsPerSecond() const {
  return elapsed_s_ > 0 ? static_cast<double>(successes()) / elapsed_s_ : 0;
}

double Stats::cpuPercent() const {
  return elapsed_s_ > 0 ? 100.0 * cpu_.total() / elapsed_s_ : 0;
}

double Stats::maxThreadCpuPercent() const {
  if (elapsed_s_ <= 0 || thread_cpu_s_.empty()) {
    return 0;
  }
  return 100.0 * *std::max_element(thread_cpu_s_.begin(), thread_cpu_s_.end()) / elapsed_s_;
}

bool Stats::saturated() const {
  return cpuPercent() >= 95.0 * cores_ || maxThreadCpuPercent() >= 95.0;
}

void Stats::printFailures(std::FILE* out) const {
  for (FailureKind kind : kAllFailureKinds) {
    const Failures& failures = failures_[static_cast<size_t>(kind)];
    std::fprintf(out, "  %-10s %llu\n", failureKindName(kind),
                 static_cast<unsigned long long>(failures.total));
    for (const auto& [detail, count] : failures.by_detail) {
      std::fprintf(out, "             %llu x %s\n", static_cast<unsigned long long>(count),
                   detail.c_str());
    }
  }
}

void Stats::printText(std::FILE* out, const Options& options) const {
  std::fprintf(out, "mode          %s\n", modeName(options.mode));
  std::fprintf(out, "elapsed       %.3f s\n", elapsed_s_);
  std::fprintf(out, "succeeded     %llu (%.1f ops/s)\n",
               static_cast<unsigned long long>(successes()), opsPerSecond());
  std::fprintf(out, "failed        %llu\n", static_cast<unsigned long long>(failures()));
  std::fprintf(out, "connections   %llu opened\n",
               static_cast<unsigned long long>(connections_opened_));
  if (options.mode == Mode::Resume) {
    double fraction = successes() > 0
                          ? 100.0 * static_cast<double>(resumed_) / static_cast<double>(successes())
                          : 0;
    std::fprintf(out, "resumed       %llu of %llu (%.1f%%)\n",
                 static_cast<unsigned long long>(resumed_),
                 static_cast<unsigned long long>(successes()), fraction);
  }
  if (options.mode == Mode::Idle) {
    std::fprintf(out, "idle          %llu held to the end, %llu closed by the server\n",
                 static_cast<unsigned long long>(idle_held_),
                 static_cast<unsigned long long>(idle_lost_));
  }
  std::fprintf(out, "latency (ms)  p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", percentileMs(0.50),
               percentileMs(0.90), percentileMs(0.99), percentileMs(1.0));
  std::fprintf(out, "failures\n");
  printFailures(out);
  std::fprintf(out, "generator cpu %.2f s (user %.2f, sys %.2f), %.1f%% of one core\n",
               cpu_.total(), cpu_.user_s, cpu_.sys_s, cpuPercent());
  if (thread_cpu_s_.size() > 1) {
    std::fprintf(out, "threads       %zu, usable cores %u, busiest thread %.1f%% of one core\n",
                 thread_cpu_s_.size(), cores_, maxThreadCpuPercent());
  }
  if (saturated()) {
    std::fprintf(out, "generator saturated: the numbers may be limited by the load generator\n");
  }
}

std::string Stats::failuresJson() const {
  std::string json = "{";
  for (FailureKind kind : kAllFailureKinds) {
    const Failures& failures = failures_[static_cast<size_t>(kind)];
    if (json.size() > 1) {
      json += ",";
    }
    json += jsonString(failureKindName(kind)) + ":{\"total\":" + std::to_string(failures.total);
    json += ",\"detail\":{";
    bool first = true;
    for (const auto& [detail, count] : failures.by_detail) {
      if (!first) {
        json += ",";
      }
      json += jsonString(detail) + ":" + std::to_string(count);
      first = false;
    }
    json += "}}";
  }
  return json + "}";
}

std::string Stats::toJson(const Options& options) const {
  std::string json = "{\"mode\":" + jsonString(modeName(options.mode));
  json += ",\"concurrency\":" + std::to_string(options.concurrency);
  json += ",\"threads\":" + std::to_string(options.threads);
  json += ",\"elapsed_s\":" + jsonNumber(elapsed_s_);
  json += ",\"succeeded\":" + std::to_string(successes());
  json += ",\"failed\":" + std::to_string(failures());
  json += ",\"ops_per_s\":" + jsonNumber(opsPerSecond());
  json += ",\"connections_opened\":" + std::to_string(connections_opened_);
  json += ",\"resumed\":" + std::to_string(resumed_);
  if (options.mode == Mode::Idle) {
    json += ",\"idle_held\":" + std::to_string(idle_held_);
    json += ",\"idle_lost\":" + std::to_string(idle_lost_);
  }
  json += ",\"latency_ms\":{\"p50\":" + jsonNumber(percentileMs(0.50));
  json += ",\"p90\":" + jsonNumber(percentileMs(0.90));
  json += ",\"p99\":" + jsonNumber(percentileMs(0.99));
  json += ",\"max\":" + jsonNumber(percentileMs(1.0)) + "}";
  json += ",\"failures\":" + failuresJson();
  json += ",\"cpu\":{\"user_s\":" + jsonNumber(cpu_.user_s);
  json += ",\"sys_s\":" + jsonNumber(cpu_.sys_s);
  json += ",\"percent\":" + jsonNumber(cpuPercent());
  json += ",\"max_thread_percent\":" + jsonNumber(maxThreadCpuPercent());
  json += ",\"cores\":" + std::to_string(cores_);
  json += std::string(",\"saturated\":") + (saturated() ? "true" : "false") + "}}";
  return json;
}

}  // namespace bench
