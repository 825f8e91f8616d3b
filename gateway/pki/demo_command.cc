#include <cstdio>

#include "gateway/pki/command_line.h"
#include "gateway/pki/commands.h"
#include "gateway/pki/demo.h"

namespace gw::pki {
namespace {

constexpr OptionSpec kDemoOptions[] = {
    {"--out", true},
    {"--force", false},
};

constexpr char kDemoHelp[] =
    "Usage: certgate pki demo [--out DIR] [--force]\n"
    "\n"
    "Write a throwaway PKI for trying the gateway: a demo root CA, a server\n"
    "certificate for localhost, clients that are accepted (good, second),\n"
    "expired and from a foreign CA, and PKCS#12 files of the two accepted\n"
    "clients for browser import. Keys are EC P-256 and written with mode 0600.\n"
    "The PKCS#12 files use the fixed password 'demo' and the legacy format\n"
    "(3DES, SHA-1 MAC), which macOS and older Windows also import.\n"
    "Never use the demo PKI for anything but tests.\n"
    "\n"
    "Options:\n"
    "  --out DIR   directory to write into, created with mode 0700 if missing\n"
    "              (default: certs, relative to the current directory)\n"
    "  --force     replace the files of an existing demo PKI in DIR\n"
    "  --help      show this help\n";

}  // namespace

int runDemoCommand(std::span<char* const> args) {
  Result<ParsedArgs> parsed = parseArgs(args, kDemoOptions);
  if (!parsed.ok()) {
    return printUsageError("demo", parsed.error());
  }
  if (parsed->helpRequested()) {
    fputs(kDemoHelp, stdout);
    return kExitOk;
  }
  if (!parsed->positionals().empty()) {
    return printUsageError("demo", "unexpected argument '" + parsed->positionals()[0] + "'");
  }
  DemoOptions options;
  options.directory = parsed->value("--out").value_or("certs");
  options.force = parsed->has("--force");
  if (options.directory.empty()) {
    return printUsageError("demo", "--out must not be empty");
  }

  Result<std::vector<std::string>> written = createDemoPki(options, currentTime());
  if (!written.ok()) {
    return printFailure("demo", written.error());
  }
  for (const std::string& path : *written) {
    printf("wrote %s\n", path.c_str());
  }
  printf("PKCS#12 password of the demo .p12 files: %.*s\n",
         static_cast<int>(kDemoPkcs12Password.size()), kDemoPkcs12Password.data());
  return kExitOk;
}

}  // namespace gw::pki
