// Runs one load on --threads threads. Each thread has its own libuv loop,
// TLS context and Runner, so no state is shared while the load runs, and
// it drives its share of the connections. Their stats are merged into one
// report at the end.
#pragma once

#include <cstdint>
#include <string>

#include "bench/connection.h"
#include "bench/options.h"
#include "bench/stats.h"

namespace bench {

// Returns part |index| of |total| split into |parts| nearly equal parts:
// the first total % parts parts get one more.
uint64_t shareOf(uint64_t total, uint32_t parts, uint32_t index);

// Returns the options of thread |index|: its share of --concurrency and
// --count, and threads = 1.
Options threadOptions(const Options& options, uint32_t index);

// Status of runLoad.
enum class LoadStatus {
  Finished,       // the load ran; *stats is complete
  TlsFailed,      // a thread's TLS context could not be built, *error has the reason
  PrimingFailed,  // the resume mode's priming request failed, *error has the reason
};

// Runs the load described by |options| against |config| (its tls field is
// replaced per thread) and fills *stats. Wall time and CPU use are measured
// from the moment every thread is ready to the moment the last one is done.
// *loop_warning is set when a thread's loop still had handles open at exit.
LoadStatus runLoad(const Options& options, const ConnectionConfig& config, Stats* stats,
                   std::string* error, std::string* loop_warning);

}  // namespace bench
