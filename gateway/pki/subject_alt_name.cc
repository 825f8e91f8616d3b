#include "gateway/pki/subject_alt_name.h"

#include <arpa/inet.h>
#include <cstdio>
#include <netinet/in.h>
#include <strings.h>

#include "gateway/pki/boringssl_error.h"

namespace gw::pki {
namespace {

// kMaxSanValueLength bounds URIs and email addresses; DNS names have their
// own limit of 253 characters.
constexpr size_t kMaxSanValueLength = 1024;

bool isPrintableAsciiWithoutSpace(std::string_view text) {
  for (char c : text) {
    if (c <= 0x20 || c >= 0x7f) {
      return false;
    }
  }
  return true;
}

bool isValidLabel(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
    return false;
  }
  for (char c : label) {
    bool alphanumeric = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alphanumeric && c != '-') {
      return false;
    }
  }
  return true;
}

// hasUriScheme returns whether |uri| starts with an RFC 3986 scheme and ':'
// and has something after it.
bool hasUriScheme(std::string_view uri) {
  size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == uri.size()) {
    return false;
  }
  if (!((uri[0] >= 'a' && uri[0] <= 'z') || (uri[0] >= 'A' && uri[0] <= 'Z'))) {
    return false;
  }
  for (size_t i = 1; i < colon; i++) {
    char c = uri[i];
    bool alphanumeric = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alphanumeric && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

bool isValidEmail(std::string_view email) {
  size_t at = email.find('@');
  if (at == std::string_view::npos || at == 0 ||
      email.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  return isValidDnsName(email.substr(at + 1), false);
}

Result<std::string> parseIpAddress(std::string_view text) {
  std::string address(text);
  uint8_t bytes[16];
  if (inet_pton(AF_INET, address.c_str(), bytes) == 1) {
    return std::string(reinterpret_cast<char*>(bytes), 4);
  }
  if (inet_pton(AF_INET6, address.c_str(), bytes) == 1) {
    return std::string(reinterpret_cast<char*>(bytes), 16);
  }
  return Error{"invalid --san 'ip:" + address + "': not an IPv4 or IPv6 address"};
}

bool startsWithIgnoringCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         strncasecmp(text.data(), prefix.data(), prefix.size()) == 0;
}

Result<SubjectAltName> parseTextValue(SanType type, std::string_view text, std::string_view value) {
  std::string quoted = "invalid --san '" + std::string(text) + "': ";
  // Gateways and tools list SANs separated by commas, so a comma in a value
  // would read as a second entry. A URI carries a comma as %2C.
  if (value.find(',') != std::string_view::npos) {
    return Error{quoted + "a SAN value cannot contain ','. Give each SAN its own --san, and " +
                 "write a comma in a URI as %2C"};
  }
  if (value.size() > kMaxSanValueLength || !isPrintableAsciiWithoutSpace(value)) {
    return Error{quoted + "use printable ASCII without spaces, at most " +
                 std::to_string(kMaxSanValueLength) + " characters"};
  }
  if (type == SanType::Dns && !isValidDnsName(value, true)) {
    return Error{quoted + "not a DNS name (letters, digits, '-' and '.'; '*.' only first)"};
  }
  if (type == SanType::Uri && !hasUriScheme(value)) {
    return Error{quoted + "a URI needs a scheme, for example uri:spiffe://corp/service"};
  }
  if (type == SanType::Email && !isValidEmail(value)) {
    return Error{quoted + "not an email address of the form name@example.com"};
  }
  return SubjectAltName{type, std::string(value)};
}

std::string formatIpAddress(const ASN1_OCTET_STRING* address) {
  char text[INET6_ADDRSTRLEN];
  const uint8_t* bytes = ASN1_STRING_get0_data(address);
  int length = ASN1_STRING_length(address);
  int family = length == 4 ? AF_INET : AF_INET6;
  if ((length != 4 && length != 16) || inet_ntop(family, bytes, text, sizeof(text)) == nullptr) {
    return "(invalid address)";
  }
  return text;
}

// printableTextOf returns an IA5String from a certificate with every byte
// outside printable ASCII written as \xNN, so that a crafted SAN cannot
// change what the terminal shows.
std::string printableTextOf(const ASN1_STRING* value) {
  const uint8_t* data = ASN1_STRING_get0_data(value);
  std::string text;
  for (int i = 0; i < ASN1_STRING_length(value); i++) {
    if (data[i] < 0x20 || data[i] >= 0x7f || data[i] == '\\') {
      char escaped[8];
      snprintf(escaped, sizeof(escaped), "\\x%02x", data[i]);
      text += escaped;
    } else {
      text += static_cast<char>(data[i]);
    }
  }
  return text;
}

std::string formatGeneralName(const GENERAL_NAME* name) {
  switch (name->type) {
    case GEN_DNS:
      return "DNS:" + printableTextOf(name->d.dNSName);
    case GEN_IPADD:
      return "IP:" + formatIpAddress(name->d.iPAddress);
    case GEN_URI:
      return "URI:" + printableTextOf(name->d.uniformResourceIdentifier);
    case GEN_EMAIL:
      return "email:" + printableTextOf(name->d.rfc822Name);
    default:
      return "other";
  }
}

// newIa5String returns an IA5String holding |text|, or null on failure.
ASN1_IA5STRING* newIa5String(const std::string& text) {
  bssl::UniquePtr<ASN1_IA5STRING> string(ASN1_IA5STRING_new());
  if (!string || !ASN1_STRING_set(string.get(), text.data(), static_cast<int>(text.size()))) {
    return nullptr;
  }
  return string.release();
}

// newGeneralName converts |san| to a GENERAL_NAME. The caller owns it.
bssl::UniquePtr<GENERAL_NAME> newGeneralName(const SubjectAltName& san) {
  bssl::UniquePtr<GENERAL_NAME> name(GENERAL_NAME_new());
  if (!name) {
    return nullptr;
  }
  if (san.type == SanType::Ip) {
    bssl::UniquePtr<ASN1_OCTET_STRING> address(ASN1_OCTET_STRING_new());
    if (!address ||
        !ASN1_OCTET_STRING_set(address.get(), reinterpret_cast<const uint8_t*>(san.value.data()),
                               static_cast<int>(san.value.size()))) {
      return nullptr;
    }
    // GENERAL_NAME_set0_value takes ownership of |address|.
    GENERAL_NAME_set0_value(name.get(), GEN_IPADD, address.release());
    return name;
  }
  int type = GEN_EMAIL;
  if (san.type == SanType::Dns) {
    type = GEN_DNS;
  } else if (san.type == SanType::Uri) {
    type = GEN_URI;
  }
  ASN1_IA5STRING* text = newIa5String(san.value);
  if (text == nullptr) {
    return nullptr;
  }
  // GENERAL_NAME_set0_value takes ownership of |text|.
  GENERAL_NAME_set0_value(name.get(), type, text);
  return name;
}

}  // namespace

bool isValidDnsName(std::string_view name, bool allowWildcard) {
  if (name.empty() || name.size() > 253) {
    return false;
  }
  if (allowWildcard && name.size() > 2 && name.substr(0, 2) == "*.") {
    name.remove_prefix(2);
  }
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    std::string_view label =
        name.substr(start, dot == std::string_view::npos ? name.npos : dot - start);
    if (!isValidLabel(label)) {
      return false;
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    start = dot + 1;
  }
}

Result<SubjectAltName> parseSubjectAltName(std::string_view text) {
  struct Prefix {
    std::string_view text;
    SanType type;
  };
  static constexpr Prefix kPrefixes[] = {{"dns:", SanType::Dns},
                                         {"ip:", SanType::Ip},
                                         {"uri:", SanType::Uri},
                                         {"email:", SanType::Email}};
  for (const Prefix& prefix : kPrefixes) {
    if (!startsWithIgnoringCase(text, prefix.text)) {
      continue;
    }
    std::string_view value = text.substr(prefix.text.size());
    if (prefix.type == SanType::Ip) {
      Result<std::string> address = parseIpAddress(value);
      if (!address.ok()) {
        return Error{address.error()};
      }
      return SubjectAltName{SanType::Ip, std::move(address).value()};
    }
    return parseTextValue(prefix.type, text, value);
  }
  return Error{"invalid --san '" + std::string(text) +
               "': expected dns:NAME, ip:ADDRESS, uri:URI or email:ADDRESS"};
}

Result<bssl::UniquePtr<GENERAL_NAMES>> buildGeneralNames(const std::vector<SubjectAltName>& names) {
  bssl::UniquePtr<GENERAL_NAMES> generalNames(sk_GENERAL_NAME_new_null());
  if (!generalNames) {
    return boringSslError("cannot allocate subjectAltName");
  }
  for (const SubjectAltName& san : names) {
    bssl::UniquePtr<GENERAL_NAME> name = newGeneralName(san);
    if (!name || !sk_GENERAL_NAME_push(generalNames.get(), name.get())) {
      return boringSslError("cannot encode subjectAltName '" + san.value + "'");
    }
    // The stack owns |name| once the push succeeded.
    name.release();
  }
  return generalNames;
}

std::string formatSubjectAltNames(const X509* certificate) {
  bssl::UniquePtr<GENERAL_NAMES> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) {
    return "";
  }
  std::string text;
  for (size_t i = 0; i < sk_GENERAL_NAME_num(names.get()); i++) {
    if (!text.empty()) {
      text += ", ";
    }
    text += formatGeneralName(sk_GENERAL_NAME_value(names.get(), i));
  }
  return text;
}

}  // namespace gw::pki
