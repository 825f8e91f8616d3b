// "certgate pki demo": a throwaway PKI for trying the gateway, with one
// identity for each outcome the gateway distinguishes (accepted, second
// accepted identity, expired, unknown CA).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/result.h"

namespace gw::pki {

// kDemoPkcs12Password protects the demo PKCS#12 files. It is fixed and
// printed because the demo PKI is test material, never a real identity.
inline constexpr std::string_view kDemoPkcs12Password = "demo";

// DemoOptions configures createDemoPki.
struct DemoOptions {
  std::string directory = "certs";
  bool force = false;
};

// createDemoPki writes the demo PKI into |options.directory| (created with
// mode 0700 if missing), all keys EC P-256 and mode 0600:
//
//   ca.crt/.key              CN=Demo Root CA, 10 years
//   server.crt/.key          CN=demo-server, SAN DNS:localhost, IP:127.0.0.1,
//                            IP:::1, serverAuth, 1 year
//   client_good.crt/.key     CN=good-client, clientAuth, 1 year
//   client_second.crt/.key   CN=second-client, clientAuth, 1 year
//   client_expired.crt/.key  CN=expired-client, valid from |now| - 30 days
//                            to |now| - 1 day
//   foreign_ca.crt/.key      CN=Foreign Root CA, 10 years
//   client_foreign.crt/.key  CN=foreign-client, signed by the foreign CA
//   client_good.p12, client_second.p12
//                            key, certificate and ca.crt in the legacy
//                            PKCS#12 format, password kDemoPkcs12Password
//
// Without |force| it fails, writing nothing, if any of these files exists.
// Returns the paths written, in order.
Result<std::vector<std::string>> createDemoPki(const DemoOptions& options, int64_t now);

}  // namespace gw::pki
