// The CA record ("index.txt"): one line per certificate the issuing CA
// signed, with its status. It is plain text so that an operator can read it
// with any tool; the CRL is built from it.
//
// Format: lines starting with '#' are comments. Every other line has six
// tab-separated fields:
//
//   STATUS  SERIAL  NOT_AFTER  REVOKED_AT  REASON  SUBJECT
//
// STATUS is V (valid) or R (revoked); SERIAL is uppercase hexadecimal;
// NOT_AFTER and REVOKED_AT are RFC 3339 UTC times; REVOKED_AT and REASON are
// "-" while the certificate is valid; SUBJECT is the RFC 4514 subject name.
// Subjects cannot contain tabs or newlines because names with control
// characters are rejected when issuing, and RFC 4514 escaping covers the rest.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/result.h"

namespace gw::pki {

// RevocationReason is a CRLReason code (RFC 5280, section 5.3.1).
enum class RevocationReason {
  Unspecified = 0,
  KeyCompromise = 1,
  CaCompromise = 2,
  AffiliationChanged = 3,
  Superseded = 4,
  CessationOfOperation = 5,
};

// parseRevocationReason maps the RFC 5280 names "unspecified",
// "keyCompromise", "caCompromise" (also "cACompromise"), "affiliationChanged",
// "superseded" and "cessationOfOperation" to a reason, or returns nullopt.
std::optional<RevocationReason> parseRevocationReason(std::string_view name);

// revocationReasonName returns the name parseRevocationReason accepts.
std::string_view revocationReasonName(RevocationReason reason);

// RecordEntry is one line of the CA record.
struct RecordEntry {
  std::string serialHex;
  int64_t notAfter = 0;
  std::string subject;
  bool revoked = false;
  int64_t revokedAt = 0;                                    // Only if |revoked|.
  RevocationReason reason = RevocationReason::Unspecified;  // Only if |revoked|.
};

// parseRecord parses the content of a CA record. It fails on the first
// malformed line, naming |source| and the line number.
Result<std::vector<RecordEntry>> parseRecord(std::string_view text, std::string_view source);

// formatRecord returns the text of a CA record with a header comment that
// explains the columns.
std::string formatRecord(const std::vector<RecordEntry>& entries);

// normalizeSerialHex converts a serial given by a user ("0x1f", "1F", or
// colon-separated bytes "01:F3") into the uppercase form without leading
// zeros used in the record, or returns nullopt if it is not hexadecimal.
std::optional<std::string> normalizeSerialHex(std::string_view text);

}  // namespace gw::pki
