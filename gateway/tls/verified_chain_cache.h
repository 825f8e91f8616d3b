// Verification of client certificate chains with a cache of chains that
// passed, so that a client presenting the same chain again skips the CA
// signature checks.
//
// A cache entry is keyed by SHA-256 over the trust version and the exact DER
// bytes of every certificate the client sent. The trust version is a hash of
// the client CA and CRL files, so a configuration change makes old entries
// unreachable. A hit still checks the validity dates of every certificate in
// the verified chain and the leaf's revocation against the CRLs at the
// current time. Only chains that passed are stored, with the identity parsed
// from the leaf, so the certificate is parsed once per cache entry.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <openssl/pool.h>
#include <openssl/x509.h>

#include "gateway/policy/policy.h"

namespace gw::tls {

using Sha256Digest = std::array<uint8_t, 32>;

// VerifiedChain is what a cache hit needs to repeat the checks that depend
// on time and on the CRLs, plus the leaf's parsed identity.
struct VerifiedChain {
  int64_t not_before = 0;  // latest notBefore in the verified chain, POSIX seconds
  int not_before_depth = 0;
  int64_t not_after = 0;  // earliest notAfter in the verified chain, POSIX seconds
  int not_after_depth = 0;
  bssl::UniquePtr<X509_NAME> leaf_issuer;     // selects the CRLs that cover the leaf
  bssl::UniquePtr<ASN1_INTEGER> leaf_serial;  // looked up in those CRLs
  std::shared_ptr<const policy::Identity> identity;
};

// VerifiedChainCache is a thread-safe LRU map from chain digest to
// VerifiedChain, split into shards with one mutex each so that worker
// threads rarely wait for each other.
class VerifiedChainCache {
 public:
  // An entry takes about 1.9 KiB of heap (measured with mallinfo2 for P-256
  // client certificates with a short subject), so a full cache takes about
  // 7.7 MiB. Longer names and more SAN entries make entries larger.
  static constexpr size_t kDefaultCapacity = 4096;
  static constexpr size_t kDefaultShards = 16;

  // |capacity| is split evenly over |shards|. Each shard evicts its least
  // recently used entry when it is full, so eviction can start before the
  // cache as a whole contains |capacity| entries.
  explicit VerifiedChainCache(size_t capacity = kDefaultCapacity, size_t shards = kDefaultShards);

  // find returns the entry for |key| and marks it most recently used, or
  // null when there is none.
  std::shared_ptr<const VerifiedChain> find(const Sha256Digest& key);

  // insert stores |chain| under |key|, replacing an entry with that key.
  void insert(const Sha256Digest& key, std::shared_ptr<const VerifiedChain> chain);

  size_t size();

  // Lookups and evictions since the cache was made, for /metrics.
  struct Stats {
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t evictions = 0;
  };
  Stats stats() const;

 private:
  struct DigestHash {
    size_t operator()(const Sha256Digest& digest) const;
  };
  using Entry = std::pair<Sha256Digest, std::shared_ptr<const VerifiedChain>>;
  struct Shard {
    std::mutex mutex;
    std::list<Entry> lru;  // most recently used first
    std::unordered_map<Sha256Digest, std::list<Entry>::iterator, DigestHash> index;
  };

  Shard& shardOf(const Sha256Digest& key);

  size_t shard_capacity_;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
  std::atomic<uint64_t> evictions_{0};
  std::vector<Shard> shards_;
};

// processChainCache is the cache every server context uses. It outlives all
// contexts, so entries survive a reload that leaves the trust files as they
// were.
VerifiedChainCache& processChainCache();

// processBufferPool is the CRYPTO_BUFFER_POOL every server context uses, so
// connections presenting the same certificate share one copy of its bytes.
// It is never freed, because sessions may hold its buffers until exit.
CRYPTO_BUFFER_POOL* processBufferPool();

// ClientTrust is the client certificate trust of one configuration: the CA
// store (with the CRLs), the CRLs again for the checks on a cache hit, and
// the trust version that is part of every cache key.
struct ClientTrust {
  bssl::UniquePtr<X509_STORE> store;
  std::vector<bssl::UniquePtr<X509_CRL>> crls;
  bool check_crl = false;               // leaf certificates must be covered by a CRL
  Sha256Digest version{};               // SHA-256 of the CA and CRL file contents
  int max_depth = 4;                    // intermediates allowed between leaf and CA
  VerifiedChainCache* cache = nullptr;  // not owned; null disables caching
};

// ChainCheck is the outcome of verifying a peer chain.
struct ChainCheck {
  int error = 0;   // X509_V_OK or the X509_V_ERR_* of the first failure
  int depth = -1;  // chain depth of that failure
  bool cache_hit = false;
  std::shared_ptr<const VerifiedChain> chain;  // set when error is X509_V_OK
};

// chainDigest is the cache key of |certs| (leaf first) under |version|.
Sha256Digest chainDigest(const STACK_OF(CRYPTO_BUFFER) * certs, const Sha256Digest& version);

// verifyCertificates verifies |certs| (leaf first, as the client sent them)
// for client authentication against |trust| at |now| (POSIX seconds). On a
// cache hit only the time and CRL checks run. On a miss the whole chain is
// verified, and a chain that passes is cached.
ChainCheck verifyCertificates(const STACK_OF(CRYPTO_BUFFER) * certs, const ClientTrust& trust,
                              int64_t now);

// recheckVerifiedChain repeats the checks a cache hit needs: the leaf
// against the CRLs of |trust|, then the validity dates of the chain. It
// returns X509_V_OK or the X509_V_ERR_* code and sets |*depth| to the chain
// depth of a failure.
int recheckVerifiedChain(const VerifiedChain& chain, const ClientTrust& trust, int64_t now,
                         int* depth);

// ParsedChain is a peer chain parsed for X509_verify_cert.
struct ParsedChain {
  bssl::UniquePtr<X509> leaf;                     // null when parsing failed
  bssl::UniquePtr<STACK_OF(X509)> intermediates;  // the certificates after the leaf
};

// parseChain parses |certs| (leaf first). The leaf is null when |certs| is
// empty or any certificate cannot be parsed.
ParsedChain parseChain(const STACK_OF(CRYPTO_BUFFER) * certs);

}  // namespace gw::tls
