#include "gateway/pki/command_line.h"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace gw::pki {
namespace {

const OptionSpec* findSpec(std::span<const OptionSpec> specs, std::string_view name) {
  for (const OptionSpec& spec : specs) {
    if (spec.name == name) {
      return &spec;
    }
  }
  return nullptr;
}

}  // namespace

bool ParsedArgs::has(std::string_view name) const {
  for (const auto& [key, unused] : options_) {
    if (key == name) {
      return true;
    }
  }
  return false;
}

std::optional<std::string> ParsedArgs::value(std::string_view name) const {
  for (const auto& [key, text] : options_) {
    if (key == name) {
      return text;
    }
  }
  return std::nullopt;
}

std::vector<std::string> ParsedArgs::values(std::string_view name) const {
  std::vector<std::string> result;
  for (const auto& [key, text] : options_) {
    if (key == name) {
      result.push_back(text);
    }
  }
  return result;
}

Result<ParsedArgs> parseArgs(std::span<char* const> args, std::span<const OptionSpec> specs) {
  ParsedArgs parsed;
  for (size_t i = 0; i < args.size(); i++) {
    std::string_view arg = args[i];
    if (arg == "--") {
      parsed.positionals_.insert(parsed.positionals_.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg == "--help" || arg == "-h") {
      parsed.helpRequested_ = true;
      continue;
    }
    if (!arg.starts_with("-") || arg == "-") {
      parsed.positionals_.emplace_back(arg);
      continue;
    }
    size_t equals = arg.find('=');
    std::string_view name = arg.substr(0, equals);
    const OptionSpec* spec = findSpec(specs, name);
    if (spec == nullptr) {
      return Error{"unknown option " + std::string(name)};
    }
    if (!spec->repeatable && parsed.has(name)) {
      return Error{"option " + std::string(name) + " given more than once"};
    }
    std::string value;
    if (!spec->takesValue && equals != std::string_view::npos) {
      return Error{"option " + std::string(name) + " takes no value"};
    }
    if (spec->takesValue && equals != std::string_view::npos) {
      value = arg.substr(equals + 1);
    } else if (spec->takesValue) {
      if (i + 1 >= args.size()) {
        return Error{"option " + std::string(name) + " needs a value"};
      }
      value = args[++i];
    }
    parsed.options_.emplace_back(std::string(name), std::move(value));
  }
  return parsed;
}

Result<int> parseDays(std::string_view option, std::string_view text) {
  int days = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), days);
  if (error != std::errc() || end != text.data() + text.size() || days < 1 || days > kMaxDays) {
    return Error{"invalid " + std::string(option) + " '" + std::string(text) +
                 "': expected a whole number of days from 1 to " + std::to_string(kMaxDays)};
  }
  return days;
}

int printFailure(std::string_view command, std::string_view message) {
  fprintf(stderr, "certgate pki %.*s: %.*s\n", static_cast<int>(command.size()), command.data(),
          static_cast<int>(message.size()), message.data());
  return kExitFailure;
}

int printUsageError(std::string_view command, std::string_view message) {
  printFailure(command, message);
  fprintf(stderr, "Run 'certgate pki %.*s --help' for the options.\n",
          static_cast<int>(command.size()), command.data());
  return kExitUsage;
}

int64_t currentTime() {
  return static_cast<int64_t>(time(nullptr));
}

}  // namespace gw::pki
