// certgate: an mTLS access gateway. This file only dispatches subcommands.
#include <cstdio>
#include <cstring>

#include "gateway/explain_command.h"
#include "gateway/pki/pki_command.h"
#include "gateway/serve_command.h"

namespace {

void printUsage(FILE* out) {
  fprintf(out,
          "Usage: certgate COMMAND [OPTIONS]\n"
          "\n"
          "Commands:\n"
          "  serve          run the gateway (default config: conf/gateway.toml)\n"
          "  check-config   validate the configuration the gateway would load\n"
          "  explain        show how a certificate and request would be decided\n"
          "  pki            manage the certificate authority (demo, init, issue, ...)\n"
          "\n"
          "\n"
          "Options:\n"
          "  --help     show this help\n"
          "  --version  print the version\n"
          "\n"
          "Run 'certgate COMMAND --help' for the options of a command.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    printUsage(stderr);
    return 2;
  }
  const char* command = argv[1];
  if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0) {
    printUsage(stdout);
    return 0;
  }
  if (strcmp(command, "--version") == 0) {
    printf("certgate %s\n", CERTGATE_VERSION);
    return 0;
  }
  if (strcmp(command, "serve") == 0) {
    return gw::runServe(argc - 2, argv + 2);
  }
  if (strcmp(command, "check-config") == 0) {
    return gw::runCheckConfig(argc - 2, argv + 2);
  }
  if (strcmp(command, "explain") == 0) {
    return gw::runExplain(argc - 2, argv + 2);
  }
  if (strcmp(command, "pki") == 0) {
    return gw::pki::runPkiCommand(argc - 2, argv + 2);
  }
  fprintf(stderr, "certgate: unknown command '%s'\n", command);
  printUsage(stderr);
  return 2;
}
