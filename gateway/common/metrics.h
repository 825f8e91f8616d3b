// Process-wide counters, gauges and histograms, rendered in the Prometheus
// text exposition format (version 0.0.4) by the admin listener.
//
// Single-threaded like the rest of the gateway: only the loop thread
// touches them. Label values are escaped on output.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gw::metrics {

// Labels are name/value pairs in a fixed order, e.g. {{"reason", "expired"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Registry {
 public:
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
  struct Histogram {
    std::vector<uint64_t> buckets;
    uint64_t count = 0;
    double sum = 0;
  };
  struct Family {
    std::string type = "counter";
    std::string help;
    std::map<Labels, uint64_t> counters;
    std::map<Labels, double> gauges;
    std::map<Labels, Histogram> histograms;
  };

  std::map<std::string, Family> families_;
};

// registry returns the process-wide registry.
Registry& registry();

// Latency buckets in seconds, shared by every histogram.
extern const std::vector<double> kLatencyBuckets;

}  // namespace gw::metrics
