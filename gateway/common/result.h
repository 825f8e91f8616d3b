// Result<T>: a value or an error message, for code that can fail on input
// from outside (configuration files, certificates, command lines). The data
// path does not use exceptions; functions return Result or a small enum.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace gw {

// Error is a human-readable message naming the value that failed and, where
// possible, what to do about it.
struct Error {
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}
  Result(Error error) : state_(std::move(error)) {}

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

  const std::string& error() const { return std::get<Error>(state_).message; }

 private:
  std::variant<T, Error> state_;
};

// Status is a Result with no value.
struct Ok {};
using Status = Result<Ok>;

inline Status okStatus() {
  return Ok{};
}

}  // namespace gw
