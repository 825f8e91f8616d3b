// subjectAltName entries: parsing "dns:", "ip:", "uri:" and "email:" values
// from the command line, encoding them, and printing a certificate's SANs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "gateway/common/result.h"

namespace gw::pki {

enum class SanType { Dns, Ip, Uri, Email };

// SubjectAltName is one GeneralName. |value| is the DNS name, URI or email
// address as text, or for SanType::Ip the 4 or 16 address bytes.
struct SubjectAltName {
  SanType type;
  std::string value;
};

// parseSubjectAltName parses "dns:NAME", "ip:ADDRESS", "uri:URI" or
// "email:ADDRESS" (the prefix is case-insensitive). It fails, quoting |text|,
// on an unknown prefix, an invalid DNS name (a "*." wildcard is allowed as the
// whole first label), an unparsable IPv4 or IPv6 address, a URI without a
// scheme, an email address without exactly one '@', or any non-ASCII, space
// or control character in a DNS name, URI or email address.
Result<SubjectAltName> parseSubjectAltName(std::string_view text);

// isValidDnsName returns whether |name| is a DNS name of letters, digits and
// hyphens in labels of 1-63 characters, at most 253 characters in all, with
// no leading or trailing hyphen in a label. With |allowWildcard| the first
// label may be "*".
bool isValidDnsName(std::string_view name, bool allowWildcard);

// buildGeneralNames encodes |names| as a GENERAL_NAMES for the
// subjectAltName extension. The caller owns the result.
Result<bssl::UniquePtr<GENERAL_NAMES>> buildGeneralNames(const std::vector<SubjectAltName>& names);

// formatSubjectAltNames lists the subjectAltName entries of |certificate| as
// "DNS:localhost, IP:127.0.0.1, URI:spiffe://x, email:a@b", or returns an
// empty string when the extension is absent. Entry types this tool does not
// issue are shown as "other".
std::string formatSubjectAltNames(const X509* certificate);

}  // namespace gw::pki
