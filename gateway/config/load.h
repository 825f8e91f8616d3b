// Loading and validating configuration files.
#pragma once

#include <string>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/config/config.h"

namespace gw::config {

// loadGatewayConfig reads the gateway file at |path| and the policy file it
// names, and validates both. On failure the error message lists every
// problem found, one per line, each as "FILE:LINE:COLUMN: what is wrong and
// how to fix it". It does not open certificate or key files.
Result<GatewayConfig> loadGatewayConfig(const std::string& path);

// loadPolicyConfig reads a policy file on its own. |out_errors| collects
// problems as above; the result is valid only when no errors were added.
PolicyConfig loadPolicyConfig(const std::string& path, std::vector<std::string>* out_errors);

// parseListenAddress parses "HOST:PORT" or "[V6HOST]:PORT". It returns false
// on a missing or invalid port or an empty host.
bool parseListenAddress(const std::string& text, ListenAddress* out_address);

}  // namespace gw::config
