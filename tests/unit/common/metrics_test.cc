#include "gateway/common/metrics.h"

#include <thread>
#include <vector>

#include <doctest/doctest.h>

using gw::metrics::Registry;

TEST_SUITE("metrics") {
  TEST_CASE("same labels give same handle") {
    Registry registry;
    gw::metrics::Counter* first = registry.counterSeries("requests_total", {{"route", "/a"}});
    gw::metrics::Counter* again = registry.counterSeries("requests_total", {{"route", "/a"}});
    gw::metrics::Counter* other = registry.counterSeries("requests_total", {{"route", "/b"}});
    CHECK(first == again);
    CHECK(first != other);
  }

  TEST_CASE("handle survives later series") {
    Registry registry;
    gw::metrics::Counter* first = registry.counterSeries("requests_total", {{"route", "/0"}});
    first->increment();
    for (int i = 1; i < 200; i++) {
      registry.counterSeries("requests_total", {{"route", "/" + std::to_string(i)}});
    }
    first->increment(2);
    CHECK(registry.counter("requests_total", {{"route", "/0"}}) == 3);
  }

  TEST_CASE("counter and gauge render format") {
    Registry registry;
    registry.describe("certgate_reloads_total", "counter", "Reloads by result");
    registry.increment("certgate_reloads_total", {{"result", "success"}}, 2);
    registry.setGauge("certgate_config_version", {}, 3);
    std::string text = registry.render();
    CHECK(text.find("# HELP certgate_reloads_total Reloads by result\n") != std::string::npos);
    CHECK(text.find("# TYPE certgate_reloads_total counter\n") != std::string::npos);
    CHECK(text.find("certgate_reloads_total{result=\"success\"} 2\n") != std::string::npos);
    CHECK(text.find("# TYPE certgate_config_version gauge\n") != std::string::npos);
    CHECK(text.find("certgate_config_version 3\n") != std::string::npos);
  }

  TEST_CASE("label values are escaped") {
    Registry registry;
    registry.increment("errors_total", {{"kind", "a\"b\\c\nd"}});
    CHECK(registry.render().find("errors_total{kind=\"a\\\"b\\\\c\\nd\"} 1\n") !=
          std::string::npos);
  }

  TEST_CASE("histogram buckets are cumulative") {
    Registry registry;
    gw::metrics::Histogram* histogram = registry.histogramSeries("duration_seconds");
    histogram->observe(0.0004);
    histogram->observe(0.003);
    histogram->observe(20);
    std::string text = registry.render();
    CHECK(text.find("duration_seconds_bucket{le=\"0.0005\"} 1\n") != std::string::npos);
    CHECK(text.find("duration_seconds_bucket{le=\"0.0025\"} 1\n") != std::string::npos);
    CHECK(text.find("duration_seconds_bucket{le=\"0.005\"} 2\n") != std::string::npos);
    CHECK(text.find("duration_seconds_bucket{le=\"10\"} 2\n") != std::string::npos);
    CHECK(text.find("duration_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
    CHECK(text.find("duration_seconds_count 3\n") != std::string::npos);
    CHECK(text.find("duration_seconds_sum 20.0034\n") != std::string::npos);
  }

  TEST_CASE("concurrent increments are all counted") {
    Registry registry;
    constexpr int kThreads = 4;
    constexpr int kPerThread = 20'000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++) {
      threads.emplace_back([&registry, t] {
        gw::metrics::Counter* shared = registry.counterSeries("shared_total");
        gw::metrics::Histogram* histogram = registry.histogramSeries("latency_seconds");
        for (int i = 0; i < kPerThread; i++) {
          shared->increment();
          histogram->observe(0.001);
          // New series while other threads use their handles.
          if (i % 1000 == 0) {
            registry.increment("per_thread_total", {{"thread", std::to_string(t)}});
            registry.render();
          }
        }
      });
    }
    for (std::thread& thread : threads) {
      thread.join();
    }
    CHECK(registry.counter("shared_total") == kThreads * kPerThread);
    CHECK(registry.histogramSeries("latency_seconds")->count() == kThreads * kPerThread);
    CHECK(registry.histogramSeries("latency_seconds")->bucket(1) == kThreads * kPerThread);
    CHECK(registry.counter("per_thread_total", {{"thread", "0"}}) == kPerThread / 1000);
  }
}
