// HTML pages served at "/". Every value taken from the request is escaped.
#pragma once

#include <string>
#include <string_view>

namespace demo {

// The client identity that certgate forwards in X-Client-* headers. A null
// member means the header was absent.
struct ClientIdentity {
  const std::string* commonName = nullptr;
  const std::string* subject = nullptr;
  const std::string* certSha256 = nullptr;
};

// Returns |text| with &, <, >, " and ' replaced by character references, so
// it can be placed in element content or a quoted attribute value.
std::string escapeHtml(std::string_view text);

// Returns the page greeting the client by CN and listing its subject and
// certificate fingerprint. |identity.commonName| must not be null.
std::string renderIdentityPage(const ClientIdentity& identity);

// Returns the page for a request that arrived without X-Client-CN.
std::string renderUnauthorizedPage();

}  // namespace demo
