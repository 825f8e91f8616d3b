// "certgate explain": what the gateway would do with a given certificate
// and request, step by step.
#pragma once

namespace gw {

// runExplain prints the chain check, the route, every rule evaluated and
// why it matched or not, the decision, and the identity headers that would
// be sent. It returns 0 when the request would be forwarded, 1 when it
// would be rejected, and 2 on a usage or configuration error.
int runExplain(int argc, char** argv);

}  // namespace gw
