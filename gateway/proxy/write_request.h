// WriteRequest: a libuv write that owns its bytes until the write callback,
// which libuv calls even when the handle is closed first (with
// UV_ECANCELED).
#pragma once

#include <string>
#include <string_view>

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

  // send writes |data| to |stream| directly as far as the socket takes it,
  // and queues a copy of the rest as a WriteRequest. The direct write is
  // tried only when nothing is queued on |stream| (libuv's uv_try_write
  // returns UV_EAGAIN otherwise), so the bytes keep their order. It sets
  // |out_queued| to the number of bytes queued, whose |on_write| follows,
  // and returns 0 or the libuv error of the queued write.
  static int send(uv_stream_t* stream, std::string_view data, uv_write_cb on_write,
                  size_t* out_queued) {
    *out_queued = 0;
    if (uv_stream_get_write_queue_size(stream) == 0) {
      uv_buf_t buf =
          uv_buf_init(const_cast<char*>(data.data()), static_cast<unsigned>(data.size()));
      int written = uv_try_write(stream, &buf, 1);
      if (written > 0) {
        data.remove_prefix(static_cast<size_t>(written));
      }
      // Any error other than UV_EAGAIN is reported again by the queued
      // write, through |on_write| as before.
    }
    if (data.empty()) {
      return 0;
    }
    int rc = start(stream, std::string(data), on_write);
    if (rc == 0) {
      *out_queued = data.size();
    }
    return rc;
  }
};

}  // namespace gw::proxy
