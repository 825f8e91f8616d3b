#include "gateway/pki/rfc3339.h"

#include <cstdio>
#include <optional>

namespace gw::pki {
namespace {

constexpr int64_t kSecondsPerDay = 86400;

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date, with March as the first month of the computation year so that the
// leap day falls at the end.
int64_t daysFromCivil(int64_t year, int64_t month, int64_t day) {
  year -= month <= 2 ? 1 : 0;
  int64_t era = (year >= 0 ? year : year - 399) / 400;
  int64_t yearOfEra = year - era * 400;
  int64_t dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  int64_t dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

bool isLeapYear(int64_t year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int64_t daysInMonth(int64_t year, int64_t month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && isLeapYear(year)) {
    return 29;
  }
  return kDays[month - 1];
}

// readDigits parses |count| decimal digits of |text| starting at |pos|.
std::optional<int64_t> readDigits(std::string_view text, size_t pos, size_t count) {
  int64_t value = 0;
  for (size_t i = pos; i < pos + count; i++) {
    if (text[i] < '0' || text[i] > '9') {
      return std::nullopt;
    }
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

bool hasSeparators(std::string_view text) {
  return text[4] == '-' && text[7] == '-' && (text[10] == 'T' || text[10] == 't') &&
         text[13] == ':' && text[16] == ':' && (text[19] == 'Z' || text[19] == 'z');
}

}  // namespace

Result<int64_t> parseRfc3339Utc(std::string_view text) {
  Error invalid{"invalid time '" + std::string(text) +
                "': expected UTC in RFC 3339 form YYYY-MM-DDTHH:MM:SSZ, for example "
                "2026-01-02T03:04:05Z"};
  if (text.size() != 20 || !hasSeparators(text)) {
    return invalid;
  }
  auto year = readDigits(text, 0, 4);
  auto month = readDigits(text, 5, 2);
  auto day = readDigits(text, 8, 2);
  auto hour = readDigits(text, 11, 2);
  auto minute = readDigits(text, 14, 2);
  auto second = readDigits(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second) {
    return invalid;
  }
  if (*month < 1 || *month > 12 || *day < 1 || *day > daysInMonth(*year, *month) || *hour > 23 ||
      *minute > 59 || *second > 59) {
    return invalid;
  }
  if (*year < 1950) {
    return Error{"invalid time '" + std::string(text) +
                 "': X.509 cannot represent years before 1950"};
  }
  return daysFromCivil(*year, *month, *day) * kSecondsPerDay + *hour * 3600 + *minute * 60 +
         *second;
}

std::string formatRfc3339Utc(int64_t unixSeconds) {
  int64_t days = unixSeconds / kSecondsPerDay;
  int64_t secondsOfDay = unixSeconds % kSecondsPerDay;
  if (secondsOfDay < 0) {
    secondsOfDay += kSecondsPerDay;
    days -= 1;
  }
  // Inverse of daysFromCivil.
  days += 719468;
  int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  int64_t dayOfEra = days - era * 146097;
  int64_t yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365;
  int64_t dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);
  int64_t shiftedMonth = (5 * dayOfYear + 2) / 153;
  int64_t day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1;
  int64_t month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  int64_t year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);

  char buffer[64];
  snprintf(buffer, sizeof(buffer), "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ",
           static_cast<long long>(year), static_cast<long long>(month), static_cast<long long>(day),
           static_cast<long long>(secondsOfDay / 3600),
           static_cast<long long>(secondsOfDay % 3600 / 60),
           static_cast<long long>(secondsOfDay % 60));
  return buffer;
}

}  // namespace gw::pki
