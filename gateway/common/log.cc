#include "gateway/common/log.h"

#include <cstdio>
#include <ctime>
#include <sys/time.h>

namespace gw::log {
namespace {

Level g_level = Level::Info;
bool g_json = false;

const char* levelName(Level level) {
  switch (level) {
    case Level::Debug:
      return "debug";
    case Level::Info:
      return "info";
    case Level::Warn:
      return "warn";
    case Level::Error:
      return "error";
  }
  return "?";
}

bool needsQuotes(std::string_view value) {
  if (value.empty()) {
    return true;
  }
  for (unsigned char c : value) {
    if (c <= 0x20 || c == '"' || c == '\\' || c == '=' || c >= 0x7f) {
      return true;
    }
  }
  return false;
}

std::string timestamp() {
  struct timeval now;
  gettimeofday(&now, nullptr);
  struct tm utc;
  gmtime_r(&now.tv_sec, &utc);
  char buf[40];
  size_t len = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &utc);
  snprintf(buf + len, sizeof(buf) - len, ".%03dZ", static_cast<int>(now.tv_usec / 1000));
  return buf;
}

}  // namespace

Field::Field(std::string_view k, double v) : key(k) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.3f", v);
  value = buf;
}

void setLevel(Level level) {
  g_level = level;
}

bool parseLevel(std::string_view name, Level* out_level) {
  if (name == "debug") {
    *out_level = Level::Debug;
  } else if (name == "info") {
    *out_level = Level::Info;
  } else if (name == "warn") {
    *out_level = Level::Warn;
  } else if (name == "error") {
    *out_level = Level::Error;
  } else {
    return false;
  }
  return true;
}

std::string formatValue(std::string_view value) {
  if (!needsQuotes(value)) {
    return std::string(value);
  }
  std::string out = "\"";
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

void setJson(bool json) {
  g_json = json;
}

namespace {

void appendJsonString(std::string* out, std::string_view value) {
  *out += '"';
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      *out += '\\';
      *out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\u%04x", c);
      *out += buf;
    } else {
      *out += static_cast<char>(c);
    }
  }
  *out += '"';
}

std::string jsonLine(Level level, std::string_view event, std::initializer_list<Field> fields) {
  std::string line = "{\"time\":";
  appendJsonString(&line, timestamp());
  line += ",\"level\":";
  appendJsonString(&line, levelName(level));
  line += ",\"event\":";
  appendJsonString(&line, event);
  for (const Field& field : fields) {
    line += ',';
    appendJsonString(&line, field.key);
    line += ':';
    appendJsonString(&line, field.value);
  }
  line += "}\n";
  return line;
}

}  // namespace

void write(Level level, std::string_view event, std::initializer_list<Field> fields) {
  if (level < g_level) {
    return;
  }
  if (g_json) {
    std::string line = jsonLine(level, event, fields);
    fwrite(line.data(), 1, line.size(), stderr);
    return;
  }
  std::string line = timestamp();
  line += ' ';
  line += levelName(level);
  line += ' ';
  line += event;
  for (const Field& field : fields) {
    line += ' ';
    line += field.key;
    line += '=';
    line += formatValue(field.value);
  }
  line += '\n';
  fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace gw::log
