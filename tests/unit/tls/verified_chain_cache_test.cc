#include "gateway/tls/verified_chain_cache.h"

#include <atomic>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <openssl/mem.h>
#include <openssl/pool.h>

#include "tests/unit/support_certs.h"

namespace {

using gw::testing::CertSpec;
using gw::testing::KeyPair;
using gw::testing::makeCa;
using gw::testing::makeCrl;
using gw::testing::makeKeyPair;
using gw::tls::ChainCheck;
using gw::tls::chainDigest;
using gw::tls::ClientTrust;
using gw::tls::Sha256Digest;
using gw::tls::VerifiedChain;
using gw::tls::VerifiedChainCache;
using gw::tls::verifyCertificates;

constexpr int64_t kDay = 86400;

KeyPair makeClient(const KeyPair& issuer, const std::string& cn, const std::string& serial_hex) {
  CertSpec spec;
  spec.subject = {{"O", "Demo"}, {"CN", cn}};
  spec.serial_hex = serial_hex;
  spec.not_after_s = kDay;
  spec.extended_key_usage = "clientAuth";
  return makeKeyPair(spec, &issuer);
}

// Chain is the DER buffers a client would send, leaf first.
struct Chain {
  explicit Chain(const std::vector<X509*>& certs) : buffers(sk_CRYPTO_BUFFER_new_null()) {
    REQUIRE(buffers != nullptr);
    for (X509* cert : certs) {
      uint8_t* der = nullptr;
      int len = i2d_X509(cert, &der);
      REQUIRE(len > 0);
      bssl::UniquePtr<CRYPTO_BUFFER> buffer(
          CRYPTO_BUFFER_new(der, static_cast<size_t>(len), nullptr));
      OPENSSL_free(der);
      REQUIRE(bssl::PushToStack(buffers.get(), std::move(buffer)));
    }
  }
  bssl::UniquePtr<STACK_OF(CRYPTO_BUFFER)> buffers;
};

// makeTrust builds a ClientTrust for |ca| with |crls| (CRL checking on when
// there is one) under trust version |version_byte| in |cache|.
ClientTrust makeTrust(const KeyPair& ca, VerifiedChainCache* cache, uint8_t version_byte,
                      std::vector<bssl::UniquePtr<X509_CRL>> crls = {}) {
  ClientTrust trust;
  trust.store.reset(X509_STORE_new());
  REQUIRE(X509_STORE_add_cert(trust.store.get(), ca.cert.get()) == 1);
  for (auto& crl : crls) {
    REQUIRE(X509_STORE_add_crl(trust.store.get(), crl.get()) == 1);
  }
  if (!crls.empty()) {
    X509_STORE_set_flags(trust.store.get(), X509_V_FLAG_CRL_CHECK);
    trust.check_crl = true;
  }
  trust.crls = std::move(crls);
  trust.version.fill(version_byte);
  trust.cache = cache;
  return trust;
}

std::vector<bssl::UniquePtr<X509_CRL>> crlsOf(bssl::UniquePtr<X509_CRL> crl) {
  std::vector<bssl::UniquePtr<X509_CRL>> crls;
  crls.push_back(std::move(crl));
  return crls;
}

int64_t now() {
  return static_cast<int64_t>(time(nullptr));
}

Sha256Digest keyOf(uint8_t value) {
  Sha256Digest key{};
  key.fill(value);
  return key;
}

}  // namespace

TEST_SUITE("tls.VerifiedChainCache") {
  TEST_CASE("second verification is a hit") {
    KeyPair ca = makeCa("Demo Root CA");
    KeyPair client = makeClient(ca, "good-client", "1001");
    VerifiedChainCache cache;
    ClientTrust trust = makeTrust(ca, &cache, 1);
    Chain chain({client.cert.get()});

    ChainCheck first = verifyCertificates(chain.buffers.get(), trust, now());
    ChainCheck second = verifyCertificates(chain.buffers.get(), trust, now());

    CHECK(first.error == X509_V_OK);
    CHECK_FALSE(first.cache_hit);
    REQUIRE(first.chain != nullptr);
    CHECK(first.chain->identity->cn == "good-client");
    CHECK(second.error == X509_V_OK);
    CHECK(second.cache_hit);
    CHECK(second.chain == first.chain);
    CHECK(cache.size() == 1);
  }

  TEST_CASE("other certificate is a miss") {
    KeyPair ca = makeCa("Demo Root CA");
    KeyPair alice = makeClient(ca, "alice", "1001");
    KeyPair bob = makeClient(ca, "bob", "1002");
    VerifiedChainCache cache;
    ClientTrust trust = makeTrust(ca, &cache, 1);
    Chain alice_chain({alice.cert.get()});
    Chain bob_chain({bob.cert.get()});
    REQUIRE(verifyCertificates(alice_chain.buffers.get(), trust, now()).error == X509_V_OK);

    ChainCheck check = verifyCertificates(bob_chain.buffers.get(), trust, now());

    CHECK(check.error == X509_V_OK);
    CHECK_FALSE(check.cache_hit);
    REQUIRE(check.chain != nullptr);
    CHECK(check.chain->identity->cn == "bob");
    CHECK(cache.size() == 2);
  }

  TEST_CASE("intermediates are part of the key") {
    KeyPair root = makeCa("Demo Root CA");
    CertSpec intermediate_spec;
    intermediate_spec.subject = {{"O", "Demo"}, {"CN", "Demo Intermediate CA"}};
    intermediate_spec.is_ca = true;
    KeyPair intermediate = makeKeyPair(intermediate_spec, &root);
    KeyPair client = makeClient(intermediate, "alice", "1001");
    VerifiedChainCache cache;
    ClientTrust trust = makeTrust(root, &cache, 1);
    Chain full({client.cert.get(), intermediate.cert.get()});
    Chain leaf_only({client.cert.get()});

    ChainCheck verified = verifyCertificates(full.buffers.get(), trust, now());
    ChainCheck without_intermediate = verifyCertificates(leaf_only.buffers.get(), trust, now());

    CHECK(verified.error == X509_V_OK);
    CHECK(chainDigest(full.buffers.get(), trust.version) !=
          chainDigest(leaf_only.buffers.get(), trust.version));
    CHECK_FALSE(without_intermediate.cache_hit);
    CHECK(without_intermediate.error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  }

  TEST_CASE("failures are not cached") {
    KeyPair ca = makeCa("Demo Root CA");
    KeyPair other_ca = makeCa("Other Root CA");
    KeyPair stranger = makeClient(other_ca, "good-client", "1001");
    VerifiedChainCache cache;
    ClientTrust trust = makeTrust(ca, &cache, 1);
    Chain chain({stranger.cert.get()});

    ChainCheck first = verifyCertificates(chain.buffers.get(), trust, now());
    ChainCheck second = verifyCertificates(chain.buffers.get(), trust, now());

    CHECK(first.error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    CHECK(first.depth == 0);
    CHECK(first.chain == nullptr);
    CHECK_FALSE(second.cache_hit);
    CHECK(second.error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    CHECK(cache.size() == 0);
  }

  TEST_CASE("least recently used entry is evicted") {
    VerifiedChainCache cache(2, 1);
    auto entry = std::make_shared<const VerifiedChain>();
    cache.insert(keyOf(1), entry);
    cache.insert(keyOf(2), entry);
    REQUIRE(cache.find(keyOf(1)) != nullptr);  // 2 is now the least recently used

    cache.insert(keyOf(3), entry);

    CHECK(cache.size() == 2);
    CHECK(cache.find(keyOf(1)) != nullptr);
    CHECK(cache.find(keyOf(2)) == nullptr);
    CHECK(cache.find(keyOf(3)) != nullptr);
  }

  TEST_CASE("stats count hits, misses and evictions") {
    VerifiedChainCache cache(1, 1);
    auto entry = std::make_shared<const VerifiedChain>();
    CHECK(cache.find(keyOf(1)) == nullptr);
    cache.insert(keyOf(1), entry);
    CHECK(cache.find(keyOf(1)) != nullptr);
    CHECK(cache.find(keyOf(1)) != nullptr);

    cache.insert(keyOf(2), entry);

    VerifiedChainCache::Stats stats = cache.stats();
    CHECK(stats.hits == 2);
    CHECK(stats.misses == 1);
    CHECK(stats.evictions == 1);
  }

  TEST_CASE("insert replaces an entry with the same key") {
    VerifiedChainCache cache(2, 1);
    auto first = std::make_shared<const VerifiedChain>();
    auto second = std::make_shared<const VerifiedChain>();
    cache.insert(keyOf(1), first);

    cache.insert(keyOf(1), second);

    CHECK(cache.size() == 1);
    CHECK(cache.find(keyOf(1)) == second);
  }

  TEST_CASE("expired certificate fails on a hit") {
    KeyPair ca = makeCa("Demo Root CA");
    KeyPair client = makeClient(ca, "good-client", "1001");  // valid for one more day
    VerifiedChainCache cache;
    ClientTrust trust = makeTrust(ca, &cache, 1);
    Chain chain({client.cert.get()});
    REQUIRE(verifyCertificates(chain.buffers.get(), trust, now()).error == X509_V_OK);

    ChainCheck later = verifyCertificates(chain.buffers.get(), trust, now() + 2 * kDay);

    CHECK(later.cache_hit);
    CHECK(later.error == X509_V_ERR_CERT_HAS_EXPIRED);
    CHECK(later.depth == 0);
    CHECK(later.chain == nullptr);
  }

  TEST_CASE("hit before notBefore is not yet valid") {
    KeyPair ca = makeCa("Demo Root CA");
    KeyPair client = makeClient(ca, "good-client", "1001");  // valid since an hour ago
    VerifiedChainCache cache;
    ClientTrust trust = makeTrust(ca, &cache, 1);
    Chain chain({client.cert.get()});
    REQUIRE(verifyCertificates(chain.buffers.get(), trust, now()).error == X509_V_OK);

    ChainCheck earlier = verifyCertificates(chain.buffers.get(), trust, now() - kDay);

    CHECK(earlier.cache_hit);
    CHECK(earlier.error == X509_V_ERR_CERT_NOT_YET_VALID);
  }

  TEST_CASE("revoked certificate fails on a hit") {
    KeyPair ca = makeCa("Demo Root CA");
    KeyPair client = makeClient(ca, "good-client", "1001");
    VerifiedChainCache cache;
    ClientTrust before = makeTrust(ca, &cache, 1, crlsOf(makeCrl(ca, {})));
    Chain chain({client.cert.get()});
    REQUIRE(verifyCertificates(chain.buffers.get(), before, now()).error == X509_V_OK);
    // The same trust version with a CRL that lists the client: a hit must
    // still consult the CRLs rather than trust the cached result.
    ClientTrust after = makeTrust(ca, &cache, 1, crlsOf(makeCrl(ca, {client.cert.get()})));

    ChainCheck check = verifyCertificates(chain.buffers.get(), after, now());

    CHECK(check.cache_hit);
    CHECK(check.error == X509_V_ERR_CERT_REVOKED);
    CHECK(check.depth == 0);
    CHECK(check.chain == nullptr);
  }

  TEST_CASE("expired CRL fails on a hit") {
    KeyPair ca = makeCa("Demo Root CA");
    KeyPair client = makeClient(ca, "good-client", "1001");
    VerifiedChainCache cache;
    ClientTrust trust = makeTrust(ca, &cache, 1, crlsOf(makeCrl(ca, {})));  // next update in a day
    Chain chain({client.cert.get()});
    REQUIRE(verifyCertificates(chain.buffers.get(), trust, now()).error == X509_V_OK);

    ChainCheck later = verifyCertificates(chain.buffers.get(), trust, now() + 2 * kDay);

    CHECK(later.cache_hit);
    CHECK(later.error == X509_V_ERR_CRL_HAS_EXPIRED);
  }

  TEST_CASE("revoked certificate is rejected on a miss") {
    KeyPair ca = makeCa("Demo Root CA");
    KeyPair client = makeClient(ca, "good-client", "1001");
    VerifiedChainCache cache;
    ClientTrust trust = makeTrust(ca, &cache, 1, crlsOf(makeCrl(ca, {client.cert.get()})));
    Chain chain({client.cert.get()});

    ChainCheck check = verifyCertificates(chain.buffers.get(), trust, now());

    CHECK_FALSE(check.cache_hit);
    CHECK(check.error == X509_V_ERR_CERT_REVOKED);
    CHECK(cache.size() == 0);
  }

  TEST_CASE("trust version change is a miss") {
    KeyPair ca = makeCa("Demo Root CA");
    KeyPair other_ca = makeCa("Other Root CA");
    KeyPair client = makeClient(ca, "good-client", "1001");
    VerifiedChainCache cache;
    ClientTrust old_trust = makeTrust(ca, &cache, 1);
    Chain chain({client.cert.get()});
    REQUIRE(verifyCertificates(chain.buffers.get(), old_trust, now()).error == X509_V_OK);
    // The new configuration trusts only another CA.
    ClientTrust new_trust = makeTrust(other_ca, &cache, 2);

    ChainCheck check = verifyCertificates(chain.buffers.get(), new_trust, now());

    CHECK(chainDigest(chain.buffers.get(), old_trust.version) !=
          chainDigest(chain.buffers.get(), new_trust.version));
    CHECK_FALSE(check.cache_hit);
    CHECK(check.error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  }

  TEST_CASE("unparsable certificate is rejected") {
    KeyPair ca = makeCa("Demo Root CA");
    VerifiedChainCache cache;
    ClientTrust trust = makeTrust(ca, &cache, 1);
    bssl::UniquePtr<STACK_OF(CRYPTO_BUFFER)> certs(sk_CRYPTO_BUFFER_new_null());
    static const uint8_t kGarbage[] = {0x30, 0x03, 0x02, 0x01};
    REQUIRE(bssl::PushToStack(certs.get(), bssl::UniquePtr<CRYPTO_BUFFER>(CRYPTO_BUFFER_new(
                                               kGarbage, sizeof(kGarbage), nullptr))));

    ChainCheck check = verifyCertificates(certs.get(), trust, now());

    CHECK(check.error != X509_V_OK);
    CHECK(check.chain == nullptr);
    CHECK(cache.size() == 0);
  }

  TEST_CASE("concurrent lookups and inserts") {
    VerifiedChainCache cache(64, 4);
    auto entry = std::make_shared<const VerifiedChain>();
    std::atomic<int> found{0};
    std::vector<std::thread> threads;
    for (uint8_t t = 0; t < 4; t++) {
      threads.emplace_back([&cache, &entry, &found, t] {
        for (int i = 0; i < 2000; i++) {
          Sha256Digest key = keyOf(static_cast<uint8_t>(i % 10));  // 40 keys fit in 64 entries
          key[0] = t;
          if (cache.find(key) != nullptr) {
            found++;
          } else {
            cache.insert(key, entry);
          }
        }
      });
    }
    for (std::thread& thread : threads) {
      thread.join();
    }

    CHECK(cache.size() <= 64);
    CHECK(cache.size() > 0);
    CHECK(found.load() > 0);
  }
}
