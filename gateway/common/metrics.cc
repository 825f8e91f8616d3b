#include "gateway/common/metrics.h"

#include <cstdio>

namespace gw::metrics {

const std::vector<double> kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  5,     10};

namespace {

std::string escapeLabel(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string formatLabels(const Labels& labels, const std::string& extra = {}) {
  if (labels.empty() && extra.empty()) {
    return {};
  }
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    out += (out.size() > 1 ? "," : "") + name + "=\"" + escapeLabel(value) + "\"";
  }
  if (!extra.empty()) {
    out += (out.size() > 1 ? "," : "") + extra;
  }
  return out + "}";
}

std::string formatNumber(double value) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.12g", value);
  return buf;
}

}  // namespace

Registry& registry() {
  static Registry instance;
  return instance;
}

void Registry::increment(const std::string& name, const Labels& labels, uint64_t delta) {
  families_[name].counters[labels] += delta;
}

void Registry::setGauge(const std::string& name, const Labels& labels, double value) {
  Family& family = families_[name];
  family.type = "gauge";
  family.gauges[labels] = value;
}

void Registry::observe(const std::string& name, const Labels& labels, double seconds) {
  Family& family = families_[name];
  family.type = "histogram";
  Histogram& histogram = family.histograms[labels];
  if (histogram.buckets.empty()) {
    histogram.buckets.assign(kLatencyBuckets.size(), 0);
  }
  for (size_t i = 0; i < kLatencyBuckets.size(); i++) {
    if (seconds <= kLatencyBuckets[i]) {
      histogram.buckets[i]++;
    }
  }
  histogram.count++;
  histogram.sum += seconds;
}

void Registry::describe(const std::string& name, const std::string& type, const std::string& help) {
  Family& family = families_[name];
  family.type = type;
  family.help = help;
}

uint64_t Registry::counter(const std::string& name, const Labels& labels) const {
  auto family = families_.find(name);
  if (family == families_.end()) {
    return 0;
  }
  auto found = family->second.counters.find(labels);
  return found == family->second.counters.end() ? 0 : found->second;
}

std::string Registry::render() const {
  std::string out;
  for (const auto& [name, family] : families_) {
    if (!family.help.empty()) {
      out += "# HELP " + name + " " + family.help + "\n";
    }
    out += "# TYPE " + name + " " + family.type + "\n";
    for (const auto& [labels, value] : family.counters) {
      out += name + formatLabels(labels) + " " + std::to_string(value) + "\n";
    }
    for (const auto& [labels, value] : family.gauges) {
      out += name + formatLabels(labels) + " " + formatNumber(value) + "\n";
    }
    for (const auto& [labels, histogram] : family.histograms) {
      for (size_t i = 0; i < kLatencyBuckets.size(); i++) {
        out += name + "_bucket" +
               formatLabels(labels, "le=\"" + formatNumber(kLatencyBuckets[i]) + "\"") + " " +
               std::to_string(histogram.buckets[i]) + "\n";
      }
      out += name + "_bucket" + formatLabels(labels, "le=\"+Inf\"") + " " +
             std::to_string(histogram.count) + "\n";
      out += name + "_sum" + formatLabels(labels) + " " + formatNumber(histogram.sum) + "\n";
      out += name + "_count" + formatLabels(labels) + " " + std::to_string(histogram.count) + "\n";
    }
  }
  return out;
}

}  // namespace gw::metrics
