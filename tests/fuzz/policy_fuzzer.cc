// libFuzzer target for configuration loading: any bytes as a policy file
// must give a PolicyConfig or errors with a location, never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>
#include <vector>

#include "gateway/config/load.h"
#include "gateway/policy/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/certgate-policy-fuzz-" + std::to_string(getpid()) + ".toml";
  FILE* file = fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return 0;
  }
  fwrite(data, 1, size, file);
  fclose(file);
  std::vector<std::string> errors;
  gw::config::PolicyConfig config = gw::config::loadPolicyConfig(path, &errors);
  for (const std::string& error : errors) {
    if (error.rfind(path, 0) != 0) {
      fprintf(stderr, "error without the file name: %s\n", error.c_str());
      abort();
    }
  }
  if (errors.empty()) {
    gw::policy::Policy policy(config);
    gw::policy::Identity identity;
    identity.cn = "good-client";
    policy.decide(identity, "host", "/secret/x");
  }
  return 0;
}
