// Structured logging: one line per event, "TIME LEVEL EVENT key=value ...",
// written to stderr. Values are quoted when they contain spaces or quotes,
// and control characters are escaped, so a client-supplied value (a
// certificate CN, a request path) can never start a new log line.
//
// Logging is single-threaded: the gateway runs one libuv loop.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace gw::log {

enum class Level { Debug, Info, Warn, Error };

// Field is one key=value pair of a log line. The value is copied.
struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v ? v : "") {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, int64_t v) : key(k), value(std::to_string(v)) {}
  Field(std::string_view k, int v) : key(k), value(std::to_string(v)) {}
  Field(std::string_view k, uint64_t v) : key(k), value(std::to_string(v)) {}
  Field(std::string_view k, double v);

  std::string_view key;
  std::string value;
};

// setLevel drops events below |level|. The default is Info.
void setLevel(Level level);

// setJson switches the output to one JSON object per line:
// {"time":"...","level":"info","event":"...","key":"value",...}. Values
// stay strings, so the two formats carry the same information.
void setJson(bool json);

// parseLevel maps "debug", "info", "warn" or "error" to a Level and returns
// false for anything else.
bool parseLevel(std::string_view name, Level* out_level);

// enabled reports whether events at |level| are written, so that callers
// can skip building expensive fields.
bool enabled(Level level);

// write emits one event line if |level| is enabled.
void write(Level level, std::string_view event, std::initializer_list<Field> fields);

inline void debug(std::string_view event, std::initializer_list<Field> fields) {
  write(Level::Debug, event, fields);
}
inline void info(std::string_view event, std::initializer_list<Field> fields) {
  write(Level::Info, event, fields);
}
inline void warn(std::string_view event, std::initializer_list<Field> fields) {
  write(Level::Warn, event, fields);
}
inline void error(std::string_view event, std::initializer_list<Field> fields) {
  write(Level::Error, event, fields);
}

// formatValue quotes and escapes |value| as it appears in a log line. It is
// exposed for tests.
std::string formatValue(std::string_view value);

}  // namespace gw::log
