// The demo service's routes. Identity comes from the headers that certgate
// adds after it verified the client certificate: X-Client-CN,
// X-Client-Subject and X-Client-Cert-Sha256.
#pragma once

#include <cstdint>

#include "upstream_demo/request.h"
#include "upstream_demo/response.h"

namespace demo {

inline constexpr uint64_t kMaxChunkCount = 10000;
inline constexpr uint64_t kMaxPatternLen = uint64_t{1} << 30;

// Returns the response to |head|. Routing needs only the head, so the
// connection calls this before the body arrives. For HEAD the response still
// carries the GET body, because its length goes into the head; the
// connection leaves the body out.
Response routeRequest(const RequestHead& head);

}  // namespace demo
