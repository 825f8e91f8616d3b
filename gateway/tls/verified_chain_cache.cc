#include "gateway/tls/verified_chain_cache.h"

#include <cstring>
#include <limits>

#include <openssl/err.h>
#include <openssl/sha.h>

#include "gateway/tls/peer_identity.h"

namespace gw::tls {

VerifiedChainCache::VerifiedChainCache(size_t capacity, size_t shards)
    : shard_capacity_((capacity + shards - 1) / shards), shards_(shards) {
  if (shard_capacity_ == 0) {
    shard_capacity_ = 1;
  }
}

size_t VerifiedChainCache::DigestHash::operator()(const Sha256Digest& digest) const {
  size_t value = 0;
  std::memcpy(&value, digest.data(), sizeof(value));
  return value;
}

VerifiedChainCache::Shard& VerifiedChainCache::shardOf(const Sha256Digest& key) {
  // Bytes 8 and 9 pick the shard, and DigestHash uses bytes 0 to 7 inside it.
  size_t mix = static_cast<size_t>(key[8]) << 8 | key[9];
  return shards_[mix % shards_.size()];
}

std::shared_ptr<const VerifiedChain> VerifiedChainCache::find(const Sha256Digest& key) {
  Shard& shard = shardOf(key);
  std::lock_guard<std::mutex> lock(shard.mutex);
  auto found = shard.index.find(key);
  if (found == shard.index.end()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  hits_.fetch_add(1, std::memory_order_relaxed);
  shard.lru.splice(shard.lru.begin(), shard.lru, found->second);
  return found->second->second;
}

VerifiedChainCache::Stats VerifiedChainCache::stats() const {
  return Stats{hits_.load(std::memory_order_relaxed), misses_.load(std::memory_order_relaxed),
               evictions_.load(std::memory_order_relaxed)};
}

void VerifiedChainCache::insert(const Sha256Digest& key,
                                std::shared_ptr<const VerifiedChain> chain) {
  Shard& shard = shardOf(key);
  std::shared_ptr<const VerifiedChain> evicted;  // freed after the lock is released
  std::lock_guard<std::mutex> lock(shard.mutex);
  auto found = shard.index.find(key);
  if (found != shard.index.end()) {
    found->second->second.swap(chain);
    shard.lru.splice(shard.lru.begin(), shard.lru, found->second);
    evicted = std::move(chain);
    return;
  }
  if (shard.lru.size() >= shard_capacity_) {
    evictions_.fetch_add(1, std::memory_order_relaxed);
    evicted = std::move(shard.lru.back().second);
    shard.index.erase(shard.lru.back().first);
    shard.lru.pop_back();
  }
  shard.lru.emplace_front(key, std::move(chain));
  shard.index.emplace(key, shard.lru.begin());
}

size_t VerifiedChainCache::size() {
  size_t total = 0;
  for (Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    total += shard.lru.size();
  }
  return total;
}

VerifiedChainCache& processChainCache() {
  static VerifiedChainCache cache;
  return cache;
}

CRYPTO_BUFFER_POOL* processBufferPool() {
  static CRYPTO_BUFFER_POOL* pool = CRYPTO_BUFFER_POOL_new();
  return pool;
}

Sha256Digest chainDigest(const STACK_OF(CRYPTO_BUFFER) * certs, const Sha256Digest& version) {
  SHA256_CTX sha;
  SHA256_Init(&sha);
  SHA256_Update(&sha, version.data(), version.size());
  for (size_t i = 0; certs != nullptr && i < sk_CRYPTO_BUFFER_num(certs); i++) {
    const CRYPTO_BUFFER* cert = sk_CRYPTO_BUFFER_value(certs, i);
    // The length prefix keeps the boundaries between certificates in the key.
    uint64_t len = CRYPTO_BUFFER_len(cert);
    uint8_t prefix[8];
    for (int byte = 0; byte < 8; byte++) {
      prefix[byte] = static_cast<uint8_t>(len >> (56 - 8 * byte));
    }
    SHA256_Update(&sha, prefix, sizeof(prefix));
    SHA256_Update(&sha, CRYPTO_BUFFER_data(cert), CRYPTO_BUFFER_len(cert));
  }
  Sha256Digest digest;
  SHA256_Final(digest.data(), &sha);
  return digest;
}

ParsedChain parseChain(const STACK_OF(CRYPTO_BUFFER) * certs) {
  ParsedChain parsed;
  size_t count = certs != nullptr ? sk_CRYPTO_BUFFER_num(certs) : 0;
  parsed.intermediates.reset(sk_X509_new_null());
  if (count == 0 || !parsed.intermediates) {
    return parsed;
  }
  for (size_t i = 1; i < count; i++) {
    bssl::UniquePtr<X509> cert(X509_parse_from_buffer(sk_CRYPTO_BUFFER_value(certs, i)));
    if (!cert || !bssl::PushToStack(parsed.intermediates.get(), std::move(cert))) {
      ERR_clear_error();
      return parsed;
    }
  }
  parsed.leaf.reset(X509_parse_from_buffer(sk_CRYPTO_BUFFER_value(certs, 0)));
  ERR_clear_error();
  return parsed;
}

namespace {

// crlTimeError returns the X509_V_ERR_* for a CRL that is not current at
// |now|, or X509_V_OK.
int crlTimeError(const X509_CRL* crl, int64_t now) {
  int64_t last_update = 0;
  if (!posixTimeOf(X509_CRL_get0_lastUpdate(crl), &last_update)) {
    return X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD;
  }
  if (last_update > now) {
    return X509_V_ERR_CRL_NOT_YET_VALID;
  }
  const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl);
  if (next == nullptr) {
    return X509_V_OK;
  }
  int64_t next_update = 0;
  if (!posixTimeOf(next, &next_update)) {
    return X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD;
  }
  // X509_cmp_time counts an equal time as past, so a CRL expires at
  // nextUpdate itself, as in the full verification.
  return next_update <= now ? X509_V_ERR_CRL_HAS_EXPIRED : X509_V_OK;
}

// revocationError checks the leaf against the CRLs its issuer signed. A
// current CRL that lists the serial gives revoked. Without any current CRL
// from the issuer, the first time error is returned, or unable-to-get-CRL
// when the issuer has no CRL at all.
int revocationError(const VerifiedChain& chain, const ClientTrust& trust, int64_t now) {
  if (!trust.check_crl) {
    return X509_V_OK;
  }
  int time_error = X509_V_OK;
  bool found_current = false;
  for (const auto& crl : trust.crls) {
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), chain.leaf_issuer.get()) != 0) {
      continue;
    }
    int error = crlTimeError(crl.get(), now);
    if (error != X509_V_OK) {
      if (time_error == X509_V_OK) {
        time_error = error;
      }
      continue;
    }
    found_current = true;
    X509_REVOKED* entry = nullptr;
    if (X509_CRL_get0_by_serial(crl.get(), &entry, chain.leaf_serial.get()) == 1) {
      return X509_V_ERR_CERT_REVOKED;
    }
  }
  if (found_current) {
    return X509_V_OK;
  }
  return time_error != X509_V_OK ? time_error : X509_V_ERR_UNABLE_TO_GET_CRL;
}

// describeChain records what a later hit must check again from the chain
// X509_verify_cert built for |leaf|.
std::shared_ptr<const VerifiedChain> describeChain(X509* leaf, STACK_OF(X509) * verified) {
  auto chain = std::make_shared<VerifiedChain>();
  chain->not_before = std::numeric_limits<int64_t>::min();
  chain->not_after = std::numeric_limits<int64_t>::max();
  for (size_t depth = 0; depth < sk_X509_num(verified); depth++) {
    X509* cert = sk_X509_value(verified, depth);
    int64_t not_before = 0;
    int64_t not_after = 0;
    if (!posixTimeOf(X509_get0_notBefore(cert), &not_before) ||
        !posixTimeOf(X509_get0_notAfter(cert), &not_after)) {
      return nullptr;
    }
    if (not_before > chain->not_before) {
      chain->not_before = not_before;
      chain->not_before_depth = static_cast<int>(depth);
    }
    if (not_after < chain->not_after) {
      chain->not_after = not_after;
      chain->not_after_depth = static_cast<int>(depth);
    }
  }
  chain->leaf_issuer.reset(X509_NAME_dup(X509_get_issuer_name(leaf)));
  chain->leaf_serial.reset(ASN1_INTEGER_dup(X509_get_serialNumber(leaf)));
  if (!chain->leaf_issuer || !chain->leaf_serial) {
    return nullptr;
  }
  chain->identity = std::make_shared<const policy::Identity>(identityOf(leaf));
  return chain;
}

// verifyParsed runs the full X509_verify_cert on a cache miss.
ChainCheck verifyParsed(const ParsedChain& parsed, const ClientTrust& trust, int64_t now) {
  ChainCheck check;
  X509* leaf = parsed.leaf.get();
  bssl::UniquePtr<X509_STORE_CTX> store_ctx(X509_STORE_CTX_new());
  if (!store_ctx ||
      !X509_STORE_CTX_init(store_ctx.get(), trust.store.get(), leaf, parsed.intermediates.get())) {
    ERR_clear_error();
    check.error = X509_V_ERR_UNSPECIFIED;
    return check;
  }
  X509_STORE_CTX_set_default(store_ctx.get(), "ssl_client");
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(store_ctx.get());
  X509_VERIFY_PARAM_set_depth(param, trust.max_depth);
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(now));
  int ok = X509_verify_cert(store_ctx.get());
  ERR_clear_error();
  if (ok != 1) {
    check.error = X509_STORE_CTX_get_error(store_ctx.get());
    check.depth = X509_STORE_CTX_get_error_depth(store_ctx.get());
    if (check.error == X509_V_OK) {
      check.error = X509_V_ERR_UNSPECIFIED;
    }
    return check;
  }
  check.chain = describeChain(leaf, X509_STORE_CTX_get0_chain(store_ctx.get()));
  if (!check.chain) {
    check.error = X509_V_ERR_UNSPECIFIED;
  }
  return check;
}

}  // namespace

int recheckVerifiedChain(const VerifiedChain& chain, const ClientTrust& trust, int64_t now,
                         int* depth) {
  // X509_verify_cert checks revocation before dates; the same order keeps
  // the reported error the same for a hit and a miss.
  if (int error = revocationError(chain, trust, now); error != X509_V_OK) {
    *depth = 0;
    return error;
  }
  if (now < chain.not_before) {
    *depth = chain.not_before_depth;
    return X509_V_ERR_CERT_NOT_YET_VALID;
  }
  if (now >= chain.not_after) {
    *depth = chain.not_after_depth;
    return X509_V_ERR_CERT_HAS_EXPIRED;
  }
  return X509_V_OK;
}

ChainCheck verifyCertificates(const STACK_OF(CRYPTO_BUFFER) * certs, const ClientTrust& trust,
                              int64_t now) {
  ChainCheck check;
  if (certs == nullptr || sk_CRYPTO_BUFFER_num(certs) == 0) {
    check.error = X509_V_ERR_UNSPECIFIED;
    return check;
  }
  Sha256Digest key{};
  if (trust.cache != nullptr) {
    key = chainDigest(certs, trust.version);
    if (auto cached = trust.cache->find(key)) {
      check.cache_hit = true;
      check.error = recheckVerifiedChain(*cached, trust, now, &check.depth);
      if (check.error == X509_V_OK) {
        check.chain = std::move(cached);
      }
      return check;
    }
  }
  ParsedChain parsed = parseChain(certs);
  if (!parsed.leaf) {
    check.error = X509_V_ERR_UNSPECIFIED;
    check.depth = 0;
    return check;
  }
  check = verifyParsed(parsed, trust, now);
  if (check.error == X509_V_OK && trust.cache != nullptr) {
    trust.cache->insert(key, check.chain);
  }
  return check;
}

}  // namespace gw::tls
