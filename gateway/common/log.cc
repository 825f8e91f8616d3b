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

// utf8SequenceLength returns the length of the valid UTF-8 sequence at
// |value[i]| (lead byte >= 0x80), or 0 if it is invalid, overlong, a
// surrogate, or a C1 control character (U+0080 to U+009F), which some
// terminals act on.
size_t utf8SequenceLength(std::string_view value, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(value[k]); };
  unsigned char lead = byte(i);
  size_t len = 0;
  if (lead >= 0xf0) {
    len = 4;
  } else if (lead >= 0xe0) {
    len = 3;
  } else if (lead >= 0xc2) {
    len = 2;
  }
  if (len == 0 || lead > 0xf4 || i + len > value.size()) {
    return 0;
  }
  uint32_t code = lead & (0x7f >> len);
  for (size_t k = 1; k < len; k++) {
    if ((byte(i + k) & 0xc0) != 0x80) {
      return 0;
    }
    code = (code << 6) | (byte(i + k) & 0x3f);
  }
  bool overlong = (len == 3 && code < 0x800) || (len == 4 && code < 0x10000);
  bool surrogate = code >= 0xd800 && code <= 0xdfff;
  if (overlong || surrogate || code > 0x10ffff || code < 0xa0) {
    return 0;
  }
  return len;
}

// appendEscaped copies |value| to |out|, passing valid printable UTF-8
// through and writing every other byte with |escape|.
void appendEscaped(std::string* out, std::string_view value,
                   void (*escape)(std::string*, unsigned char)) {
  for (size_t i = 0; i < value.size();) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c == '"' || c == '\\') {
      *out += '\\';
      *out += static_cast<char>(c);
      i++;
    } else if (c < 0x20 || c == 0x7f) {
      escape(out, c);
      i++;
    } else if (c < 0x80) {
      *out += static_cast<char>(c);
      i++;
    } else if (size_t len = utf8SequenceLength(value, i); len > 0) {
      out->append(value.substr(i, len));
      i += len;
    } else {
      escape(out, c);
      i++;
    }
  }
}

void escapeHex(std::string* out, unsigned char c) {
  char buf[8];
  snprintf(buf, sizeof(buf), "\\x%02x", c);
  *out += buf;
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
  appendEscaped(&out, value, escapeHex);
  out += '"';
  return out;
}

void setJson(bool json) {
  g_json = json;
}

bool enabled(Level level) {
  return level >= g_level;
}

namespace {

// escapeJson writes a byte as a JSON escape. Bytes of invalid UTF-8 come
// out as the code point of the same number, so the line stays valid JSON.
void escapeJson(std::string* out, unsigned char c) {
  char buf[8];
  snprintf(buf, sizeof(buf), "\\u%04x", c);
  *out += buf;
}

void appendJsonString(std::string* out, std::string_view value) {
  *out += '"';
  appendEscaped(out, value, escapeJson);
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
