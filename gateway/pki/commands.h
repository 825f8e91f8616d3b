// Entry points of the "certgate pki" subcommands. Each takes the arguments
// after the subcommand name, prints results to stdout and errors to stderr,
// and returns kExitOk, kExitFailure or kExitUsage (see command_line.h).
#pragma once

#include <span>

namespace gw::pki {

int runDemoCommand(std::span<char* const> args);
int runInitCommand(std::span<char* const> args);
int runIssueCommand(std::span<char* const> args);
int runRevokeCommand(std::span<char* const> args);
int runCrlCommand(std::span<char* const> args);
int runExportCommand(std::span<char* const> args);
int runShowCommand(std::span<char* const> args);

}  // namespace gw::pki
