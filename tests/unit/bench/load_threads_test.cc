#include "bench/load_threads.h"

#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include <doctest/doctest.h>

#include "bench/connection.h"
#include "bench/options.h"
#include "bench/stats.h"
#include "tests/unit/support_certs.h"
#include "tests/unit/support_temp_dir.h"

namespace {

using bench::LoadStatus;
using bench::Options;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// closedLoopbackPort returns a port on 127.0.0.1 that was just bound and
// released, so connecting to it is refused.
uint16_t closedLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  socklen_t length = sizeof(address);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  close(fd);
  return ntohs(address.sin_port);
}

}  // namespace

TEST_SUITE("bench threads") {
  TEST_CASE("shares split evenly, first ones larger") {
    CHECK(bench::shareOf(10, 3, 0) == 4);
    CHECK(bench::shareOf(10, 3, 1) == 3);
    CHECK(bench::shareOf(10, 3, 2) == 3);
    CHECK(bench::shareOf(2, 3, 2) == 0);
    CHECK(bench::shareOf(7, 1, 0) == 7);
  }

  TEST_CASE("thread options split concurrency and count") {
    Options options;
    options.threads = 3;
    options.concurrency = 50;
    options.count = 1000;
    uint64_t concurrency = 0;
    uint64_t count = 0;
    for (uint32_t i = 0; i < options.threads; ++i) {
      Options share = bench::threadOptions(options, i);
      CHECK(share.threads == 1);
      REQUIRE(share.count.has_value());
      concurrency += share.concurrency;
      count += *share.count;
    }
    CHECK(concurrency == 50);
    CHECK(count == 1000);
    CHECK(bench::threadOptions(options, 0).concurrency == 17);
    CHECK(*bench::threadOptions(options, 0).count == 334);
    CHECK(*bench::threadOptions(options, 2).count == 333);
  }

  TEST_CASE("thread options keep a duration run unbounded by count") {
    Options options;
    options.threads = 2;
    options.concurrency = 3;
    CHECK_FALSE(bench::threadOptions(options, 1).count.has_value());
    CHECK(bench::threadOptions(options, 1).concurrency == 1);
  }

  TEST_CASE("threaded run merges every thread's operations") {
    // Every connect is refused, so each of the 7 operations ends as one
    // connect failure, counted by whichever of the 3 threads ran it.
    gw::testing::TempDir dir;
    gw::testing::KeyPair ca = gw::testing::makeCa("bench test CA");
    Options options;
    options.mode = bench::Mode::Handshake;
    options.host = "127.0.0.1";
    options.ca_file = dir.write("ca.crt", gw::testing::certPem(ca.cert.get()));
    options.threads = 3;
    options.concurrency = 3;
    options.count = 7;
    options.timeout_s = 5;

    bench::ConnectionConfig config;
    config.mode = options.mode;
    config.ip_address = options.host;
    auto* address = reinterpret_cast<sockaddr_in*>(&config.address);
    address->sin_family = AF_INET;
    address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address->sin_port = htons(closedLoopbackPort());

    bench::Stats stats;
    std::string error;
    std::string loop_warning;
    LoadStatus status = bench::runLoad(options, config, &stats, &error, &loop_warning);

    REQUIRE(status == LoadStatus::Finished);
    CHECK(loop_warning.empty());
    CHECK(stats.successes() == 0);
    CHECK(stats.failures() == 7);
    std::string json = stats.toJson(options);
    CHECK(contains(json, "\"connections_opened\":7"));
    CHECK(contains(json, "\"connect\":{\"total\":7,"));
    CHECK(contains(json, "\"threads\":3"));
  }

  TEST_CASE("unreadable CA file stops the run") {
    Options options;
    options.mode = bench::Mode::Handshake;
    options.host = "127.0.0.1";
    options.ca_file = "/nonexistent/ca.crt";
    options.threads = 2;
    options.concurrency = 2;
    options.count = 2;
    bench::Stats stats;
    std::string error;
    std::string loop_warning;
    LoadStatus status =
        bench::runLoad(options, bench::ConnectionConfig{}, &stats, &error, &loop_warning);
    CHECK(status == LoadStatus::TlsFailed);
    CHECK(contains(error, "/nonexistent/ca.crt"));
  }
}
