// Option parsing and exit codes shared by the "certgate pki" subcommands.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/common/result.h"

namespace gw::pki {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// kMaxDays bounds every --days option: 100 years.
inline constexpr int kMaxDays = 36500;

// OptionSpec declares one "--name" option of a subcommand.
struct OptionSpec {
  std::string_view name;  // Including the leading "--".
  bool takesValue = false;
  bool repeatable = false;
};

// ParsedArgs contains the options and positional arguments of one subcommand.
class ParsedArgs {
 public:
  bool has(std::string_view name) const;

  // value returns the value of option |name|, or nullopt if it was not given.
  std::optional<std::string> value(std::string_view name) const;

  // values returns every value of a repeatable option, in command-line order.
  std::vector<std::string> values(std::string_view name) const;

  const std::vector<std::string>& positionals() const { return positionals_; }
  bool helpRequested() const { return helpRequested_; }

 private:
  friend Result<ParsedArgs> parseArgs(std::span<char* const> args,
                                      std::span<const OptionSpec> specs);

  std::vector<std::pair<std::string, std::string>> options_;
  std::vector<std::string> positionals_;
  bool helpRequested_ = false;
};

// parseArgs parses |args| (the arguments after the subcommand name) against
// |specs|. It accepts "--name value" and "--name=value", treats "--help" and
// "-h" as a help request, and everything after "--" as positional. It fails
// on an unknown option, a missing value, a value given to a flag, or a
// non-repeatable option given twice.
Result<ParsedArgs> parseArgs(std::span<char* const> args, std::span<const OptionSpec> specs);

// parseDays parses the value of |option| as a whole number of days from 1 to
// kMaxDays.
Result<int> parseDays(std::string_view option, std::string_view text);

// printFailure writes "certgate pki COMMAND: MESSAGE" to stderr and returns
// kExitFailure.
int printFailure(std::string_view command, std::string_view message);

// printUsageError writes "certgate pki COMMAND: MESSAGE" and a pointer to
// --help to stderr and returns kExitUsage.
int printUsageError(std::string_view command, std::string_view message);

// currentTime returns the current time in seconds since the Unix epoch.
int64_t currentTime();

}  // namespace gw::pki
