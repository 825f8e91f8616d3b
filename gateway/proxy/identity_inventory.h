// IdentityInventory: the client certificates seen since start, for the
// admin endpoint /identities and the expiry metrics, so an operator can see
// who will be locked out when a certificate expires. Every method is safe
// to call from any thread: the workers record and the admin thread reads.
#pragma once

#include <cstddef>
#include <ctime>
#include <map>
#include <mutex>
#include <string>

#include "gateway/policy/policy.h"

namespace gw::proxy {

class IdentityInventory {
 public:
  struct Entry {
    std::string cn;
    std::string subject;
    std::string issuer;
    std::string serial_hex;
    std::string not_after;  // RFC 3339
    time_t not_after_posix = 0;
    time_t last_seen = 0;
    std::string last_decision;  // allow, deny, no_route, rejected
    uint64_t requests = 0;
  };

  // kMaxEntries bounds memory: past it, the entry seen longest ago is
  // dropped.
  static constexpr size_t kMaxEntries = 10'000;

  // record notes that |identity| was seen now with |decision|. For an
  // identity already seen it takes the lock and allocates nothing unless
  // |decision| is longer than any decision stored for it before.
  void record(const policy::Identity& identity, const std::string& decision);

  // countExpiringWithin counts identities whose notAfter is before
  // now + |seconds| (already expired ones included).
  size_t countExpiringWithin(time_t now, time_t seconds) const;

  size_t size() const;

  // toJson renders the inventory as a JSON array, soonest expiry first.
  std::string toJson() const;

 private:
  mutable std::mutex mutex_;              // guards entries_
  std::map<std::string, Entry> entries_;  // keyed by SHA-256 fingerprint
};

// parseRfc3339 converts "2027-01-02T03:04:05Z" to POSIX time; 0 on failure.
time_t parseRfc3339(const std::string& text);

// jsonString quotes and escapes |text| as a JSON string.
std::string jsonString(const std::string& text);

}  // namespace gw::proxy
