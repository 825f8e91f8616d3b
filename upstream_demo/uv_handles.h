// Helpers for libuv handle memory, which libuv may use until the handle's
// close callback has run.
#pragma once

#include <uv.h>

namespace demo {

// Closes |handle|, a heap-allocated libuv handle that is not closing yet,
// and deletes it in the close callback. The handle's data pointer is cleared
// first, so a callback that is already queued finds no owner and returns.
template <typename HandleType>
void closeAndDelete(HandleType* handle) {
  auto* base = reinterpret_cast<uv_handle_t*>(handle);
  base->data = nullptr;
  uv_close(base,
           [](uv_handle_t* closed) noexcept { delete reinterpret_cast<HandleType*>(closed); });
}

}  // namespace demo
