#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "gateway/proxy/server.h"

using gw::proxy::ConnectionLimit;

TEST_SUITE("proxy.connection_limit") {
  TEST_CASE("acquire stops at the limit") {
    ConnectionLimit limit(2);
    CHECK(limit.tryAcquire());
    CHECK(limit.tryAcquire());
    CHECK_FALSE(limit.tryAcquire());
    CHECK(limit.active() == 2);
  }

  TEST_CASE("release frees a slot") {
    ConnectionLimit limit(1);
    REQUIRE(limit.tryAcquire());
    REQUIRE_FALSE(limit.tryAcquire());
    limit.release();
    CHECK(limit.active() == 0);
    CHECK(limit.tryAcquire());
  }

  TEST_CASE("raised limit admits more") {
    ConnectionLimit limit(1);
    REQUIRE(limit.tryAcquire());
    REQUIRE_FALSE(limit.tryAcquire());
    limit.setMax(3);
    CHECK(limit.tryAcquire());
    CHECK(limit.tryAcquire());
    CHECK_FALSE(limit.tryAcquire());
  }

  TEST_CASE("threads never exceed the limit") {
    constexpr uint32_t kMax = 8;
    ConnectionLimit limit(kMax);
    std::atomic<uint32_t> held{0};
    std::atomic<uint32_t> max_seen{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++) {
      threads.emplace_back([&] {
        for (int i = 0; i < 20'000; i++) {
          if (!limit.tryAcquire()) {
            continue;
          }
          uint32_t now = ++held;
          uint32_t seen = max_seen.load();
          while (now > seen && !max_seen.compare_exchange_weak(seen, now)) {
          }
          --held;
          limit.release();
        }
      });
    }
    for (std::thread& thread : threads) {
      thread.join();
    }
    CHECK(max_seen.load() <= kMax);
    CHECK(limit.active() == 0);
  }
}
