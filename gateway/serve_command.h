// "certgate serve" and "certgate check-config".
#pragma once

namespace gw {

// runServe starts the gateway and returns the exit code once it has shut
// down: 0 after SIGINT or SIGTERM, 1 if the configuration or a listener
// failed, 2 on a usage error.
int runServe(int argc, char** argv);

// runCheckConfig loads everything "serve" would load, reports each problem
// with its file and line, and returns 0 only if the gateway would start.
int runCheckConfig(int argc, char** argv);

}  // namespace gw
