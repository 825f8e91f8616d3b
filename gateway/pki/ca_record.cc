#include "gateway/pki/ca_record.h"

#include "gateway/pki/rfc3339.h"

namespace gw::pki {
namespace {

struct ReasonName {
  RevocationReason reason;
  std::string_view name;
};

constexpr ReasonName kReasonNames[] = {
    {RevocationReason::Unspecified, "unspecified"},
    {RevocationReason::KeyCompromise, "keyCompromise"},
    {RevocationReason::CaCompromise, "caCompromise"},
    {RevocationReason::AffiliationChanged, "affiliationChanged"},
    {RevocationReason::Superseded, "superseded"},
    {RevocationReason::CessationOfOperation, "cessationOfOperation"},
};

std::vector<std::string_view> splitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    size_t tab = line.find('\t', start);
    if (tab == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, tab - start));
    start = tab + 1;
  }
}

Result<RecordEntry> parseLine(std::string_view line) {
  std::vector<std::string_view> fields = splitFields(line);
  if (fields.size() != 6) {
    return Error{"expected 6 tab-separated fields, found " + std::to_string(fields.size())};
  }

  RecordEntry entry;
  if (fields[0] != "V" && fields[0] != "R") {
    return Error{"status must be V or R, found '" + std::string(fields[0]) + "'"};
  }
  entry.revoked = fields[0] == "R";
  std::optional<std::string> serial = normalizeSerialHex(fields[1]);
  if (!serial) {
    return Error{"invalid serial '" + std::string(fields[1]) + "'"};
  }
  entry.serialHex = *serial;
  Result<int64_t> notAfter = parseRfc3339Utc(fields[2]);
  if (!notAfter.ok()) {
    return Error{notAfter.error()};
  }
  entry.notAfter = *notAfter;
  entry.subject = std::string(fields[5]);
  if (!entry.revoked) {
    return entry;
  }

  Result<int64_t> revokedAt = parseRfc3339Utc(fields[3]);
  if (!revokedAt.ok()) {
    return Error{revokedAt.error()};
  }
  entry.revokedAt = *revokedAt;
  std::optional<RevocationReason> reason = parseRevocationReason(fields[4]);
  if (!reason) {
    return Error{"unknown revocation reason '" + std::string(fields[4]) + "'"};
  }
  entry.reason = *reason;
  return entry;
}

}  // namespace

std::optional<RevocationReason> parseRevocationReason(std::string_view name) {
  if (name == "cACompromise") {
    return RevocationReason::CaCompromise;
  }
  for (const ReasonName& entry : kReasonNames) {
    if (entry.name == name) {
      return entry.reason;
    }
  }
  return std::nullopt;
}

std::string_view revocationReasonName(RevocationReason reason) {
  for (const ReasonName& entry : kReasonNames) {
    if (entry.reason == reason) {
      return entry.name;
    }
  }
  return "unspecified";
}

Result<std::vector<RecordEntry>> parseRecord(std::string_view text, std::string_view source) {
  std::vector<RecordEntry> entries;
  size_t lineNumber = 0;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    lineNumber++;
    if (line.empty() || line[0] == '#') {
      continue;
    }
    Result<RecordEntry> entry = parseLine(line);
    if (!entry.ok()) {
      return Error{std::string(source) + ":" + std::to_string(lineNumber) + ": " + entry.error()};
    }
    entries.push_back(std::move(entry).value());
  }
  return entries;
}

std::string formatRecord(const std::vector<RecordEntry>& entries) {
  std::string text =
      "# Certificates issued by this CA, one per line, tab-separated.\n"
      "# status (V valid, R revoked)\tserial\tnot_after\trevoked_at\treason\tsubject\n";
  for (const RecordEntry& entry : entries) {
    text += entry.revoked ? "R\t" : "V\t";
    text += entry.serialHex + "\t";
    text += formatRfc3339Utc(entry.notAfter) + "\t";
    text += entry.revoked ? formatRfc3339Utc(entry.revokedAt) : "-";
    text += "\t";
    text += entry.revoked ? std::string(revocationReasonName(entry.reason)) : "-";
    text += "\t" + entry.subject + "\n";
  }
  return text;
}

std::optional<std::string> normalizeSerialHex(std::string_view text) {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
  }
  std::string digits;
  for (char c : text) {
    if (c == ':') {
      continue;
    }
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) {
      return std::nullopt;
    }
    digits += (c >= 'a' && c <= 'f') ? static_cast<char>(c - 'a' + 'A') : c;
  }
  size_t firstNonZero = digits.find_first_not_of('0');
  if (digits.empty()) {
    return std::nullopt;
  }
  if (firstNonZero == std::string::npos) {
    return "0";
  }
  return digits.substr(firstNonZero);
}

}  // namespace gw::pki
