#include "gateway/proxy/upstream_link.h"

#include "gateway/proxy/client_connection.h"
#include "gateway/proxy/server.h"
#include "gateway/proxy/write_request.h"

namespace gw::proxy {

UpstreamLink::UpstreamLink(ClientConnection* link_owner, http::ParserHandler* handler,
                           size_t max_header_bytes)
    : parser(http::MessageKind::Response, handler, max_header_bytes), owner(link_owner) {}

UpstreamLink* UpstreamLink::create(uv_loop_t* loop, ClientConnection* owner,
                                   const UpstreamAddress& address, http::ParserHandler* handler,
                                   size_t max_header_bytes, int* out_error) {
  auto* link = new UpstreamLink(owner, handler, max_header_bytes);
  link->upstream_name = address.name;
  link->address = address.display;
  uv_tcp_init(loop, &link->tcp_);
  link->tcp_.data = link;
  link->connect_req_.data = link;
  *out_error = uv_tcp_connect(&link->connect_req_, &link->tcp_,
                              reinterpret_cast<const sockaddr*>(&address.address), onConnect);
  if (*out_error != 0) {
    link->close();
    return nullptr;
  }
  return link;
}

void UpstreamLink::onConnect(uv_connect_t* req, int status) {
  auto* link = static_cast<UpstreamLink*>(req->data);
  if (link->owner == nullptr) {
    return;
  }
  if (status == 0) {
    link->connected = true;
    uv_tcp_nodelay(&link->tcp_, 1);
    if (!link->queued_.empty()) {
      std::string queued = link->takeQueued();
      link->writeNow(queued);
      if (link->owner == nullptr) {
        return;  // the write failed and the owner detached the link
      }
    }
    link->setReading(link->want_reading_);
  }
  link->owner->onUpstreamConnected(link, status);
}

void UpstreamLink::send(std::string_view data) {
  if (closing_ || write_failed || data.empty()) {
    return;
  }
  if (!connected) {
    pending_bytes += data.size();
    queued_ += data;
    return;
  }
  writeNow(data);
}

// writeNow counts in |pending_bytes| only what waits in a queued write, so
// bytes the socket took at once need no onWrite.
void UpstreamLink::writeNow(std::string_view data) {
  size_t queued = 0;
  int rc = WriteRequest::send(reinterpret_cast<uv_stream_t*>(&tcp_), data, onWrite, &queued);
  if (rc != 0 && owner != nullptr) {
    write_failed = true;
    owner->onUpstreamWriteFailed(this, rc);
    return;
  }
  pending_bytes += queued;
}

void UpstreamLink::onWrite(uv_write_t* req, int status) {
  auto* request = reinterpret_cast<WriteRequest*>(req);
  auto* link = static_cast<UpstreamLink*>(req->handle->data);
  size_t len = request->data.size();
  delete request;
  link->pending_bytes -= std::min(link->pending_bytes, len);
  if (link->owner == nullptr || link->closing_) {
    return;
  }
  if (status != 0) {
    if (!link->write_failed) {
      link->write_failed = true;
      link->owner->onUpstreamWriteFailed(link, status);
    }
    return;
  }
  link->owner->onUpstreamDrained(link);
}

void UpstreamLink::setReading(bool on) {
  want_reading_ = on;
  if (!connected || closing_ || on == reading_) {
    return;
  }
  reading_ = on;
  if (on) {
    uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), onAlloc, onRead);
  } else {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
  }
}

void UpstreamLink::onAlloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  thread_local char buffer[65536];
  // One buffer per loop thread: it is used by one read at a time and
  // consumed before the read callback returns.
  *buf = uv_buf_init(buffer, sizeof(buffer));
}

void UpstreamLink::onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* link = static_cast<UpstreamLink*>(stream->data);
  if (nread == 0) {
    return;
  }
  if (link->owner == nullptr) {
    // A pooled link owes nothing: any byte or EOF from the upstream ends it.
    if (link->pool != nullptr) {
      link->pool->dropPooled(link);
    }
    link->close();
    return;
  }
  if (nread < 0) {
    link->owner->onUpstreamEof(link, static_cast<int>(nread));
    return;
  }
  link->owner->onUpstreamData(link, std::string_view(buf->base, static_cast<size_t>(nread)));
}

void UpstreamLink::close() {
  owner = nullptr;
  if (closing_) {
    return;
  }
  closing_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), onClose);
}

void UpstreamLink::onClose(uv_handle_t* handle) {
  delete static_cast<UpstreamLink*>(handle->data);
}

}  // namespace gw::proxy
