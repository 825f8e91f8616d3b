#include "bench/runner.h"

#include <algorithm>
#include <cstdio>

namespace bench {

Runner::Runner(uv_loop_t* loop, const Options& options, const ConnectionConfig& config,
               const ClientTlsContext& tls)
    : loop_(loop), options_(options), config_(config), priming_config_(config), tls_(tls) {
  // The priming connection sends one request, because a BoringSSL server
  // (certgate) holds its TLS 1.3 tickets until its first write, and
  // BoringSSL clients ignore tickets that arrive after their close_notify.
  priming_config_.mode = Mode::Request;
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
}

bool Runner::prepare(std::string* error) {
  return options_.mode != Mode::Resume || prime(error);
}

void Runner::run() {
  phase_ = Phase::Running;
  if (options_.mode == Mode::Idle) {
    launchIdleConnections();
  } else {
    if (!options_.count) {
      auto duration_ms = static_cast<uint64_t>(options_.duration_s * 1000);
      uv_timer_start(&timer_, &Runner::onDeadline, duration_ms, 0);
    }
    for (uint32_t i = 0; i < options_.concurrency && budgetLeft(); ++i) {
      bool one_per_connection = options_.mode != Mode::Keepalive;
      if (one_per_connection && !claimOperation()) {
        break;
      }
      launch(config_, options_.mode == Mode::Resume ? tls_.latestSession() : nullptr);
    }
  }
  uv_run(loop_, UV_RUN_DEFAULT);
  stats_.setIdleResult(idle_lost_, idle_held_);
}

void Runner::shutdown() {
  // The timer is inactive by now; closing it lets uv_loop_close succeed.
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  uv_run(loop_, UV_RUN_DEFAULT);
  phase_ = Phase::Done;
}

// Runs one full handshake and request, outside the measurement, so the
// resume mode has a session ticket from the start. Any HTTP status will do.
bool Runner::prime(std::string* error) {
  phase_ = Phase::Priming;
  launch(priming_config_, nullptr);
  uv_run(loop_, UV_RUN_DEFAULT);
  bool answered =
      priming_outcome_ && (priming_outcome_->ok || priming_outcome_->kind == FailureKind::Status);
  if (!answered) {
    *error = "the priming request, which obtains the session ticket, failed: " +
             (priming_outcome_ ? priming_outcome_->detail : std::string("no outcome"));
    return false;
  }
  if (tls_.latestSession() == nullptr) {
    std::fprintf(stderr,
                 "certgate-bench: the server sent no session ticket; "
                 "every handshake will be a full one\n");
  }
  return true;
}

void Runner::launch(const ConnectionConfig& config, SSL_SESSION* session) {
  if (phase_ != Phase::Priming) {
    stats_.recordConnectionOpened();
  }
  open_.insert(Connection::start(loop_, config, *this, session));
}

bool Runner::budgetLeft() const {
  if (options_.count) {
    return operations_claimed_ < *options_.count;
  }
  return !deadline_passed_;
}

bool Runner::claimOperation() {
  if (!budgetLeft()) {
    return false;
  }
  ++operations_claimed_;
  return true;
}

bool Runner::claimRequest() {
  return claimOperation();
}

void Runner::onOutcome(Connection& connection, const Outcome& outcome) {
  if (phase_ == Phase::Priming) {
    priming_outcome_ = outcome;
    return;
  }
  if (options_.mode == Mode::Idle) {
    if (connection.established() && !outcome.ok) {
      ++idle_lost_;
      return;
    }
    ++idle_settled_;
  }
  record(outcome);
  if (options_.mode == Mode::Idle && phase_ == Phase::Running) {
    launchIdleConnections();
  }
}

void Runner::record(const Outcome& outcome) {
  if (outcome.ok) {
    stats_.recordSuccess(outcome.latency_ns, outcome.resumed);
  } else {
    stats_.recordFailure(outcome.kind, outcome.detail);
  }
}

void Runner::onClosed(Connection& connection) {
  open_.erase(&connection);
  switch (options_.mode) {
    case Mode::Idle:
      if (phase_ == Phase::Running) {
        launchIdleConnections();
      }
      break;
    case Mode::Keepalive:
      // Replaces connections the server closed, for example after its
      // limit of requests per connection.
      if (phase_ == Phase::Running && budgetLeft()) {
        launch(config_, nullptr);
      }
      break;
    default:
      if (phase_ == Phase::Running && claimOperation()) {
        launch(config_, options_.mode == Mode::Resume ? tls_.latestSession() : nullptr);
      }
      break;
  }
  if (open_.empty()) {
    uv_timer_stop(&timer_);
  }
}

void Runner::onDeadline(uv_timer_t* timer) {
  static_cast<Runner*>(timer->data)->deadline_passed_ = true;
}

// Keeps up to --concurrency handshakes in flight until --idle connections
// were started, then starts the hold once every handshake has finished.
// Connection::start can report a failed connect at once, which calls back
// into this function; the guard keeps that inner call from launching.
void Runner::launchIdleConnections() {
  if (launching_) {
    return;
  }
  launching_ = true;
  uint64_t target = options_.idle_connections;
  while (idle_started_ < target && idle_started_ - idle_settled_ < options_.concurrency) {
    ++idle_started_;
    launch(config_, nullptr);
  }
  launching_ = false;
  if (idle_settled_ == target && phase_ == Phase::Running) {
    startHold();
  }
}

void Runner::startHold() {
  phase_ = Phase::Holding;
  std::fprintf(stderr, "certgate-bench: %zu connections established, holding them for %.1f s\n",
               open_.size(), options_.hold_s);
  std::fflush(stderr);
  auto hold_ms = static_cast<uint64_t>(options_.hold_s * 1000);
  uv_timer_start(&timer_, &Runner::onHoldEnd, hold_ms, 0);
}

void Runner::onHoldEnd(uv_timer_t* timer) {
  auto* self = static_cast<Runner*>(timer->data);
  self->idle_held_ = self->open_.size();
  self->phase_ = Phase::Done;
  self->closeAll();
}

void Runner::closeAll() {
  // close() only starts closing; connections leave open_ in onClosed.
  for (Connection* connection : open_) {
    connection->close();
  }
}

}  // namespace bench
