// AdminServer: a plain-HTTP listener for operators, meant for loopback.
//
//   GET /metrics     Prometheus text format
//   GET /healthz     200 while the process runs
//   GET /readyz      200 when listeners are bound and no upstream failed its
//                    last exchange, 503 with the reason otherwise
//   GET /identities  JSON list of client certificates seen since start
//
// It needs no client certificate, so it must listen only where operators
// (and their scrapers) are trusted; the shipped configuration binds it to
// 127.0.0.1.
#pragma once

#include <string>

#include <uv.h>

#include "gateway/common/result.h"
#include "gateway/config/config.h"

namespace gw::proxy {

class Supervisor;

class AdminServer {
 public:
  // AdminServer borrows |loop| and |supervisor|, which must outlive it.
  // It runs on the main thread, so it responds while the workers are busy.
  AdminServer(uv_loop_t* loop, Supervisor* supervisor) : loop_(loop), supervisor_(supervisor) {}
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // listen binds |address|; the error names the address.
  Status listen(const config::ListenAddress& address);

  // close stops listening; open admin connections finish on their own.
  void close();

  const std::string& address() const { return address_; }

  // respond builds the full HTTP response for |method| and |path|.
  std::string respond(const std::string& method, const std::string& path);

 private:
  static void onConnection(uv_stream_t* listener, int status);

  uv_loop_t* loop_;
  Supervisor* supervisor_;
  uv_tcp_t* listener_ = nullptr;  // heap; freed in its close callback
  std::string address_;
};

}  // namespace gw::proxy
