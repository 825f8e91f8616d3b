#include "gateway/proxy/identity_inventory.h"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace gw::proxy {

time_t parseRfc3339(const std::string& text) {
  struct tm parsed = {};
  if (strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &parsed) == nullptr) {
    return 0;
  }
  return timegm(&parsed);
}

std::string jsonString(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

void IdentityInventory::record(const policy::Identity& identity, const std::string& decision) {
  if (identity.fingerprint_sha256.empty()) {
    return;
  }
  time_t now = time(nullptr);
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = entries_.find(identity.fingerprint_sha256);
  if (found == entries_.end()) {
    if (entries_.size() >= kMaxEntries) {
      auto oldest = std::min_element(entries_.begin(), entries_.end(), [](auto& a, auto& b) {
        return a.second.last_seen < b.second.last_seen;
      });
      entries_.erase(oldest);
    }
    Entry entry;
    entry.cn = identity.cn;
    entry.subject = identity.subject;
    entry.issuer = identity.issuer;
    entry.serial_hex = identity.serial_hex;
    entry.not_after = identity.not_after;
    entry.not_after_posix = parseRfc3339(identity.not_after);
    found = entries_.emplace(identity.fingerprint_sha256, std::move(entry)).first;
  }
  found->second.last_seen = now;
  found->second.last_decision = decision;
  found->second.requests++;
}

size_t IdentityInventory::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

size_t IdentityInventory::countExpiringWithin(time_t now, time_t seconds) const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t count = 0;
  for (const auto& [fingerprint, entry] : entries_) {
    if (entry.not_after_posix != 0 && entry.not_after_posix < now + seconds) {
      count++;
    }
  }
  return count;
}

std::string IdentityInventory::toJson() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::pair<const std::string*, const Entry*>> sorted;
  for (const auto& [fingerprint, entry] : entries_) {
    sorted.emplace_back(&fingerprint, &entry);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](auto& a, auto& b) { return a.second->not_after_posix < b.second->not_after_posix; });
  std::string out = "[";
  for (const auto& [fingerprint, entry] : sorted) {
    char last_seen[32];
    struct tm utc;
    gmtime_r(&entry->last_seen, &utc);
    strftime(last_seen, sizeof(last_seen), "%Y-%m-%dT%H:%M:%SZ", &utc);
    out += out.size() > 1 ? ",\n " : "\n ";
    out += "{\"cn\":" + jsonString(entry->cn) + ",\"subject\":" + jsonString(entry->subject) +
           ",\"issuer\":" + jsonString(entry->issuer) +
           ",\"serial\":" + jsonString(entry->serial_hex) +
           ",\"sha256\":" + jsonString(*fingerprint) +
           ",\"not_after\":" + jsonString(entry->not_after) +
           ",\"last_seen\":" + jsonString(last_seen) +
           ",\"last_decision\":" + jsonString(entry->last_decision) +
           ",\"requests\":" + std::to_string(entry->requests) + "}";
  }
  return out + "\n]\n";
}

}  // namespace gw::proxy
