// libFuzzer target for the gateway file: any bytes as conf/gateway.toml
// must give a configuration or errors that name the file, never a crash.
// The policy file it may name is written beside it from the seed policy.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include "gateway/config/load.h"

namespace {

void writeFile(const std::string& path, const void* data, size_t size) {
  FILE* file = fopen(path.c_str(), "wb");
  if (file == nullptr) {
    abort();
  }
  fwrite(data, 1, size, file);
  fclose(file);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    char templ[] = "/tmp/certgate-gateway-fuzz-XXXXXX";
    const char* made = mkdtemp(templ);
    if (made == nullptr) {
      abort();
    }
    std::string path = made;
    static const char kPolicy[] =
        "[upstreams.demo]\naddress = \"127.0.0.1:8080\"\n"
        "[[routes]]\nprefix = \"/\"\nupstream = \"demo\"\nallow_cn = [\"a\"]\n";
    writeFile(path + "/policy.toml", kPolicy, sizeof(kPolicy) - 1);
    return path;
  }();
  const std::string path = dir + "/gateway.toml";
  writeFile(path, data, size);
  auto config = gw::config::loadGatewayConfig(path);
  if (!config && config.error().find(path) == std::string::npos &&
      config.error().find(dir) == std::string::npos) {
    fprintf(stderr, "error without a file name: %s\n", config.error().c_str());
    abort();
  }
  return 0;
}
