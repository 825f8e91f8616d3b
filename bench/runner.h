// Drives the connections of one run: how many are open, when new ones
// start, and when the run ends.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>

#include <uv.h>

#include "bench/connection.h"
#include "bench/options.h"
#include "bench/stats.h"
#include "bench/tls_client.h"

namespace bench {

class Runner final : public ConnectionListener {
 public:
  // |loop|, |options| and |tls| are borrowed and must outlive the runner.
  Runner(uv_loop_t* loop, const Options& options, const ConnectionConfig& config,
         const ClientTlsContext& tls);

  // Runs the priming request of the resume mode, which obtains a session
  // ticket outside the measurement. Returns false and sets *error when it
  // failed. The other modes need no priming.
  bool prepare(std::string* error);

  // Runs the load to its end (duration, count, or the idle hold).
  void run();

  // Closes the runner's own timer and runs the loop until every handle is
  // closed. Call it once before destroying the runner, whether or not
  // run() was called.
  void shutdown();

  const Stats& stats() const { return stats_; }

  void onOutcome(Connection& connection, const Outcome& outcome) override;
  bool claimRequest() override;
  void onClosed(Connection& connection) override;

 private:
  enum class Phase { Priming, Running, Holding, Done };

  static void onDeadline(uv_timer_t* timer);
  static void onHoldEnd(uv_timer_t* timer);

  bool prime(std::string* error);
  void record(const Outcome& outcome);
  void launch(const ConnectionConfig& config, SSL_SESSION* session);
  bool claimOperation();
  bool budgetLeft() const;
  void launchIdleConnections();
  void startHold();
  void closeAll();

  uv_loop_t* loop_;
  const Options& options_;
  // Connections borrow these, and every connection is closed before the
  // runner is destroyed.
  ConnectionConfig config_;
  ConnectionConfig priming_config_;
  const ClientTlsContext& tls_;
  Stats stats_;
  Phase phase_ = Phase::Running;
  uv_timer_t timer_;  // duration deadline or idle hold
  bool deadline_passed_ = false;
  uint64_t operations_claimed_ = 0;
  std::unordered_set<Connection*> open_;
  std::optional<Outcome> priming_outcome_;
  // Idle mode: connections started, and those whose handshake finished
  // either way.
  uint64_t idle_started_ = 0;
  uint64_t idle_settled_ = 0;
  uint64_t idle_lost_ = 0;
  uint64_t idle_held_ = 0;
  bool launching_ = false;
};

}  // namespace bench
