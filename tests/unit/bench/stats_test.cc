#include "bench/stats.h"

#include <string>

#include <doctest/doctest.h>

#include "bench/options.h"

namespace {

using bench::CpuTime;
using bench::FailureKind;
using bench::Options;
using bench::Stats;

constexpr uint64_t kSecondNs = 1'000'000'000;

// finishOneSecond freezes |stats| as a run of exactly one second that used
// |process_cpu_s| of CPU time on |cores| cores.
void finishOneSecond(Stats& stats, double process_cpu_s, uint32_t cores) {
  stats.finish(0, kSecondNs, CpuTime{}, CpuTime{process_cpu_s, 0}, cores);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_SUITE("bench stats") {
  TEST_CASE("merge adds counts and failure details") {
    Stats first;
    first.recordConnectionOpened();
    first.recordConnectionOpened();
    first.recordSuccess(1'000'000, true);
    first.recordFailure(FailureKind::Handshake, "TLSV1_ALERT_UNKNOWN_CA");
    Stats second;
    second.recordConnectionOpened();
    second.recordSuccess(3'000'000, false);
    second.recordFailure(FailureKind::Handshake, "TLSV1_ALERT_UNKNOWN_CA");
    second.recordFailure(FailureKind::Timeout, "timed out while handshaking");

    first.merge(second);
    finishOneSecond(first, 0.1, 1);

    CHECK(first.successes() == 2);
    CHECK(first.failures() == 3);
    std::string json = first.toJson(Options{});
    CHECK(contains(json, "\"connections_opened\":3"));
    CHECK(contains(json, "\"resumed\":1"));
    CHECK(contains(json, "\"handshake\":{\"total\":2,\"detail\":{\"TLSV1_ALERT_UNKNOWN_CA\":2}}"));
    CHECK(
        contains(json, "\"timeout\":{\"total\":1,\"detail\":{\"timed out while handshaking\":1}}"));
  }

  TEST_CASE("merged latencies give joint percentiles") {
    // One thread saw the fast operations, the other the slow ones: the
    // merged percentiles must come from all of them together.
    Stats fast;
    for (int i = 1; i <= 90; ++i) {
      fast.recordSuccess(static_cast<uint64_t>(i) * 1'000'000, false);
    }
    Stats slow;
    for (int i = 91; i <= 100; ++i) {
      slow.recordSuccess(static_cast<uint64_t>(i) * 1'000'000, false);
    }
    slow.merge(fast);
    finishOneSecond(slow, 0.1, 1);

    std::string json = slow.toJson(Options{});
    CHECK(contains(json, "\"p50\":50.000"));
    CHECK(contains(json, "\"p90\":90.000"));
    CHECK(contains(json, "\"p99\":99.000"));
    CHECK(contains(json, "\"max\":100.000"));
    CHECK(contains(json, "\"ops_per_s\":100.000"));
  }

  TEST_CASE("merge keeps every thread's CPU time") {
    Stats first;
    first.recordThreadCpu(0.30);
    Stats second;
    second.recordThreadCpu(0.70);
    first.merge(second);
    finishOneSecond(first, 1.0, 2);

    std::string json = first.toJson(Options{});
    CHECK(contains(json, "\"percent\":100.000"));
    CHECK(contains(json, "\"max_thread_percent\":70.000"));
    CHECK(contains(json, "\"cores\":2"));
    CHECK(contains(json, "\"saturated\":false"));
  }

  TEST_CASE("saturation by busiest thread or all cores") {
    struct Case {
      const char* name;
      double thread_a_s;
      double thread_b_s;
      uint32_t cores;
      bool saturated;
    };
    const Case cases[] = {
        {"two threads on two cores, both at 60%", 0.60, 0.60, 2, false},
        {"one thread at 96% of its core", 0.96, 0.20, 2, true},
        {"two threads sharing one core", 0.49, 0.48, 1, true},
        {"two threads on one core with idle time", 0.40, 0.40, 1, false},
    };
    for (const Case& c : cases) {
      CAPTURE(c.name);
      Stats stats;
      stats.recordThreadCpu(c.thread_a_s);
      Stats other;
      other.recordThreadCpu(c.thread_b_s);
      stats.merge(other);
      finishOneSecond(stats, c.thread_a_s + c.thread_b_s, c.cores);
      std::string expected = c.saturated ? "\"saturated\":true" : "\"saturated\":false";
      CHECK(contains(stats.toJson(Options{}), expected));
    }
  }

  TEST_CASE("single thread saturates at 95% of one core") {
    Stats busy;
    busy.recordThreadCpu(0.95);
    finishOneSecond(busy, 0.95, 1);
    CHECK(contains(busy.toJson(Options{}), "\"saturated\":true"));

    Stats calm;
    calm.recordThreadCpu(0.90);
    finishOneSecond(calm, 0.90, 1);
    CHECK(contains(calm.toJson(Options{}), "\"saturated\":false"));
  }

  TEST_CASE("JSON line names the thread count") {
    Options options;
    options.threads = 4;
    options.concurrency = 40;
    Stats stats;
    finishOneSecond(stats, 0.1, 4);
    std::string json = stats.toJson(options);
    CHECK(contains(json, "\"concurrency\":40,\"threads\":4,"));
  }
}
