// Process-wide counters, gauges and histograms, rendered in the Prometheus
// text exposition format (version 0.0.4) by the admin listener.
//
// Safe for several threads. A family and label set is resolved once into a
// handle (Counter*, Gauge* or Histogram*) that stays valid for the life of
// the process, and updating a handle is a few atomic operations with no
// lock and no allocation. The name-and-labels calls (increment, setGauge,
// observe) resolve the handle under the registry lock on every call, so
// they suit rare events. Label values are escaped on output.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace gw::metrics {

// Labels are name/value pairs in a fixed order, e.g. {{"reason", "expired"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

// Latency buckets in seconds, shared by every histogram.
inline constexpr std::array<double, 14> kLatencyBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// Counter is one series of a counter family.
class Counter {
 public:
  void increment(uint64_t delta = 1) { value_.fetch_add(delta, std::memory_order_relaxed); }
  // set copies a count that another component keeps, at render time. The
  // source must only grow, as Prometheus counters do.
  void set(uint64_t value) { value_.store(value, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Gauge is one series of a gauge family.
class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Histogram is one series of a histogram family over kLatencyBuckets. The
// buckets are stored cumulatively (bucket i counts every observation up to
// its bound), as Prometheus renders them.
class Histogram {
 public:
  void observe(double seconds);

  uint64_t bucket(size_t i) const { return buckets_[i].load(std::memory_order_acquire); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, kLatencyBuckets.size()> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

class Registry {
 public:
  // counterSeries, gaugeSeries and histogramSeries return the handle for
  // |name| with |labels|, creating the series at 0 on first use.
  Counter* counterSeries(const std::string& name, const Labels& labels = {});
  Gauge* gaugeSeries(const std::string& name, const Labels& labels = {});
  Histogram* histogramSeries(const std::string& name, const Labels& labels = {});

  // increment adds |delta| to the counter |name| with |labels|.
  void increment(const std::string& name, const Labels& labels = {}, uint64_t delta = 1);

  // setGauge sets the gauge |name| with |labels| to |value|.
  void setGauge(const std::string& name, const Labels& labels, double value);

  // observe records |seconds| in the histogram |name|.
  void observe(const std::string& name, const Labels& labels, double seconds);

  // describe sets the HELP text and TYPE of a metric family.
  void describe(const std::string& name, const std::string& type, const std::string& help);

  // counter returns the current value of a counter, 0 if never incremented.
  uint64_t counter(const std::string& name, const Labels& labels = {}) const;

  // render returns every metric in Prometheus text format.
  std::string render() const;

 private:
  struct Family {
    std::string type = "counter";
    std::string help;
    // unique_ptr keeps each handle at a fixed address while the maps grow.
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
  };

  mutable std::mutex mutex_;  // guards families_, not the values behind the handles
  std::map<std::string, Family> families_;
};

// registry returns the process-wide registry.
Registry& registry();

}  // namespace gw::metrics
