// UpstreamLink: one plain TCP connection from the gateway to an upstream,
// owned by the ClientConnection that opened it.
//
// The link outlives its owner only until its close callback, so the owner
// pointer is cleared on detach and every callback checks it first.
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>

#include <uv.h>

#include "gateway/http/parser.h"
#include "gateway/proxy/runtime.h"

namespace gw::proxy {

class ClientConnection;
class Server;

struct UpstreamLink {
  // create starts connecting to |address|. Bytes passed to send() before the
  // connection is up are queued. The owner hears back through
  // onUpstreamConnected, onUpstreamData, onUpstreamEof, onUpstreamWriteFailed
  // and onUpstreamDrained.
  // If the connect cannot even start, it returns null and sets |out_error|
  // to the libuv error.
  static UpstreamLink* create(uv_loop_t* loop, ClientConnection* owner,
                              const UpstreamAddress& address, http::ParserHandler* handler,
                              size_t max_header_bytes, int* out_error);

  // send writes |data|, or queues a copy until connected. After a write has
  // failed, it drops |data|, because the upstream can no longer receive it.
  void send(std::string_view data);

  // takeQueued returns the bytes not yet written because the connection is
  // not up, and clears them.
  std::string takeQueued() {
    pending_bytes -= std::min(pending_bytes, queued_.size());
    std::string out = std::move(queued_);
    queued_.clear();
    return out;
  }

  // setReading starts or stops reading responses (backpressure).
  void setReading(bool on);

  // wantsReading reports the last setReading choice.
  bool wantsReading() const { return want_reading_; }

  // close detaches the owner and closes the socket; the link frees itself
  // in the close callback.
  void close();

  std::string upstream_name;
  std::string address;
  bool connected = false;
  bool idle = false;          // a response completed and nothing is in flight
  bool write_failed = false;  // a write failed; reading goes on for the response
  size_t pending_bytes = 0;   // written, not yet sent
  http::Parser parser;
  ClientConnection* owner;  // borrowed; null once detached
  Server* pool = nullptr;   // borrowed; set while the link waits in the server pool

 private:
  UpstreamLink(ClientConnection* owner, http::ParserHandler* handler, size_t max_header_bytes);

  static void onConnect(uv_connect_t* req, int status);
  static void onAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void onWrite(uv_write_t* req, int status);
  static void onClose(uv_handle_t* handle);

  void writeNow(std::string_view data);

  uv_tcp_t tcp_;
  uv_connect_t connect_req_;
  std::string queued_;
  bool reading_ = false;
  bool want_reading_ = true;
  bool closing_ = false;
};

}  // namespace gw::proxy
