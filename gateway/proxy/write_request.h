// WriteRequest: a libuv write that owns its bytes until the write callback,
// which libuv calls even when the handle is closed first (with
// UV_ECANCELED).
#pragma once

#include <string>

#include <uv.h>

namespace gw::proxy {

struct WriteRequest {
  uv_write_t req;
  std::string data;

  // start writes |data| to |stream|. On failure the request is freed and
  // the libuv error returned; on success |on_write| must delete it.
  static int start(uv_stream_t* stream, std::string data, uv_write_cb on_write) {
    auto* request = new WriteRequest;
    request->data = std::move(data);
    uv_buf_t buf = uv_buf_init(request->data.data(), static_cast<unsigned>(request->data.size()));
    int rc = uv_write(&request->req, stream, &buf, 1, on_write);
    if (rc != 0) {
      delete request;
    }
    return rc;
  }
};

}  // namespace gw::proxy
