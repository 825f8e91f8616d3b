#include "gateway/pki/pki_command.h"

#include <cstdio>
#include <span>
#include <string_view>

#include "gateway/pki/command_line.h"
#include "gateway/pki/commands.h"

namespace gw::pki {
namespace {

struct Subcommand {
  std::string_view name;
  int (*run)(std::span<char* const> args);
  std::string_view summary;
};

constexpr Subcommand kSubcommands[] = {
    {"demo", runDemoCommand, "write a throwaway demo PKI for trying the gateway"},
    {"init", runInitCommand, "create a CA directory: root CA and intermediate CA"},
    {"issue", runIssueCommand, "issue a client or server certificate from a CA directory"},
    {"revoke", runRevokeCommand, "mark a certificate as revoked in the CA record"},
    {"crl", runCrlCommand, "write a CRL of the revoked certificates"},
    {"export", runExportCommand, "bundle a key and certificate into a PKCS#12 file"},
    {"show", runShowCommand, "print a certificate and check it against a CA bundle"},
};

void printUsage(FILE* out) {
  fprintf(out, "Usage: certgate pki SUBCOMMAND [OPTIONS]\n\nSubcommands:\n");
  for (const Subcommand& subcommand : kSubcommands) {
    fprintf(out, "  %-8.*s %.*s\n", static_cast<int>(subcommand.name.size()),
            subcommand.name.data(), static_cast<int>(subcommand.summary.size()),
            subcommand.summary.data());
  }
  fprintf(out,
          "\nRun 'certgate pki SUBCOMMAND --help' for the options of a subcommand.\n"
          "Exit status: 0 on success, 1 on failure, 2 on a usage error.\n");
}

}  // namespace

int runPkiCommand(int argc, char** argv) {
  if (argc < 1) {
    printUsage(stderr);
    return kExitUsage;
  }
  std::string_view name = argv[0];
  if (name == "--help" || name == "-h" || name == "help") {
    printUsage(stdout);
    return kExitOk;
  }
  for (const Subcommand& subcommand : kSubcommands) {
    if (subcommand.name == name) {
      return subcommand.run(std::span<char* const>(argv + 1, static_cast<size_t>(argc - 1)));
    }
  }
  fprintf(stderr, "certgate pki: unknown subcommand '%s'\n", argv[0]);
  printUsage(stderr);
  return kExitUsage;
}

}  // namespace gw::pki
