#include "gateway/common/metrics.h"

#include <cstdio>

namespace gw::metrics {

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

void Histogram::observe(double seconds) {
  // The count first, then the buckets from the widest down, each with
  // release order. A reader that loads the buckets from the narrowest up
  // (acquire) and the count last therefore reads cumulative buckets that
  // never decrease and never exceed the count, while other threads observe.
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(seconds, std::memory_order_relaxed);
  for (size_t i = kLatencyBuckets.size(); i-- > 0 && seconds <= kLatencyBuckets[i];) {
    buckets_[i].fetch_add(1, std::memory_order_release);
  }
}

Counter* Registry::counterSeries(const std::string& name, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::unique_ptr<Counter>& series = families_[name].counters[labels];
  if (series == nullptr) {
    series = std::make_unique<Counter>();
  }
  return series.get();
}

Gauge* Registry::gaugeSeries(const std::string& name, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  Family& family = families_[name];
  family.type = "gauge";
  std::unique_ptr<Gauge>& series = family.gauges[labels];
  if (series == nullptr) {
    series = std::make_unique<Gauge>();
  }
  return series.get();
}

Histogram* Registry::histogramSeries(const std::string& name, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  Family& family = families_[name];
  family.type = "histogram";
  std::unique_ptr<Histogram>& series = family.histograms[labels];
  if (series == nullptr) {
    series = std::make_unique<Histogram>();
  }
  return series.get();
}

void Registry::increment(const std::string& name, const Labels& labels, uint64_t delta) {
  counterSeries(name, labels)->increment(delta);
}

void Registry::setGauge(const std::string& name, const Labels& labels, double value) {
  gaugeSeries(name, labels)->set(value);
}

void Registry::observe(const std::string& name, const Labels& labels, double seconds) {
  histogramSeries(name, labels)->observe(seconds);
}

void Registry::describe(const std::string& name, const std::string& type, const std::string& help) {
  std::lock_guard<std::mutex> lock(mutex_);
  Family& family = families_[name];
  family.type = type;
  family.help = help;
}

uint64_t Registry::counter(const std::string& name, const Labels& labels) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto family = families_.find(name);
  if (family == families_.end()) {
    return 0;
  }
  auto found = family->second.counters.find(labels);
  return found == family->second.counters.end() ? 0 : found->second->value();
}

std::string Registry::render() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  for (const auto& [name, family] : families_) {
    if (!family.help.empty()) {
      out += "# HELP " + name + " " + family.help + "\n";
    }
    out += "# TYPE " + name + " " + family.type + "\n";
    for (const auto& [labels, counter] : family.counters) {
      out += name + formatLabels(labels) + " " + std::to_string(counter->value()) + "\n";
    }
    for (const auto& [labels, gauge] : family.gauges) {
      out += name + formatLabels(labels) + " " + formatNumber(gauge->value()) + "\n";
    }
    for (const auto& [labels, histogram] : family.histograms) {
      // Buckets first, then the count (see Histogram::observe).
      for (size_t i = 0; i < kLatencyBuckets.size(); i++) {
        out += name + "_bucket" +
               formatLabels(labels, "le=\"" + formatNumber(kLatencyBuckets[i]) + "\"") + " " +
               std::to_string(histogram->bucket(i)) + "\n";
      }
      uint64_t count = histogram->count();
      out += name + "_bucket" + formatLabels(labels, "le=\"+Inf\"") + " " + std::to_string(count) +
             "\n";
      out += name + "_sum" + formatLabels(labels) + " " + formatNumber(histogram->sum()) + "\n";
      out += name + "_count" + formatLabels(labels) + " " + std::to_string(count) + "\n";
    }
  }
  return out;
}

}  // namespace gw::metrics
