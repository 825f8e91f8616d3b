#include "gateway/pki/pki_command.h"

#include <cstdio>

namespace gw::pki {

int runPkiCommand(int argc, char** argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "certgate pki: not built yet\n");
  return 1;
}

}  // namespace gw::pki
