// Shared internals of ClientConnection, whose methods are split over
// client_connection.cc (handshake and requests), client_upstream.cc
// (upstream side and responses) and client_io.cc (writing, closing,
// timers). Only those files include this header.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <uv.h>

#include "gateway/proxy/runtime.h"

namespace gw::proxy {

// Backpressure watermarks: a side stops reading when more than kHighWater
// bytes wait to be sent to the other side, and resumes below kLowWater.
inline constexpr size_t kHighWater = 256 * 1024;
inline constexpr size_t kLowWater = 64 * 1024;

// Read capacity a connection keeps between requests, enough for a typical
// request head, so that the next request does not allocate it again.
inline constexpr size_t kKeptInputCapacity = 1024;
// Capacity of the held-body buffer that survives between requests.
inline constexpr size_t kKeptHeldCapacity = 2048;

// A PlaintextBatch is encrypted early once it reaches the payload of one
// full TLS record.
inline constexpr size_t kMaxPlaintextBatch = 16 * 1024;

// Pipelined requests beyond this many buffered bytes wait in the socket.
inline constexpr size_t kMaxBufferedInput = 64 * 1024;

// Time allowed to flush a final response or alert before closing anyway.
inline constexpr uint32_t kFlushTimeoutMs = 5000;
// How long a connection closed in the middle of a request body keeps
// reading and discarding what the client still sends (see finishClosing).
inline constexpr uint32_t kLingerMs = 2000;

inline constexpr std::string_view kForbiddenBody = "Access denied: client not authorized\n";
inline constexpr std::string_view kNotFoundBody = "Not found: no route for this path\n";
inline constexpr std::string_view kCertificateNeededBody =
    "Client certificate required: this page is only for clients with a certificate from "
    "this site's CA. Install yours in the browser (or pass it to your client) and retry.\n";
inline constexpr std::string_view kNoLongerAcceptedBody =
    "Access denied: client certificate no longer accepted\n";

inline int64_t millisecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

inline double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

inline std::string peerAddress(uv_tcp_t* tcp, std::string* out_ip) {
  sockaddr_storage address{};
  int len = sizeof(address);
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&address), &len) != 0) {
    *out_ip = "-";
    return "-";
  }
  std::string text = formatAddress(reinterpret_cast<sockaddr*>(&address));
  size_t colon = text.rfind(':');
  *out_ip = text.substr(0, colon);
  if (!out_ip->empty() && (*out_ip)[0] == '[') {
    *out_ip = out_ip->substr(1, out_ip->size() - 2);
  }
  return text;
}

inline std::string verifyText(int verify_error) {
  if (verify_error == 0) {
    return "-";
  }
  return std::to_string(verify_error) + ":" + X509_verify_cert_error_string(verify_error);
}

inline std::string errorText(uint32_t code) {
  if (code == 0) {
    return "-";
  }
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : std::to_string(code);
}

inline std::string shortFingerprint(const std::string& fingerprint) {
  return fingerprint.substr(0, 16);
}


}  // namespace gw::proxy
