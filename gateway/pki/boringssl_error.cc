#include "gateway/pki/boringssl_error.h"

#include <openssl/err.h>

namespace gw::pki {

std::string takeBoringSslReason() {
  uint32_t first = ERR_get_error();
  ERR_clear_error();
  if (first == 0) {
    return "no BoringSSL error recorded";
  }
  const char* reason = ERR_reason_error_string(first);
  if (reason == nullptr) {
    return "error " + std::to_string(first);
  }
  return reason;
}

Error boringSslError(std::string_view what) {
  return Error{std::string(what) + " (BoringSSL: " + takeBoringSslReason() + ")"};
}

}  // namespace gw::pki
