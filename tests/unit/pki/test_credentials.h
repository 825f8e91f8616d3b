// Credentials for unit tests, made with the same code the commands use.
#pragma once

#include <cstdint>
#include <string>

#include <doctest/doctest.h>

#include "gateway/pki/credential.h"

namespace gw::pki::testing {

// kTestNow is a fixed clock for tests: 2026-01-02T03:04:05Z.
inline constexpr int64_t kTestNow = 1767323045;
inline constexpr int64_t kDay = 86400;

inline Credential makeCredential(CertificateProfile profile, const std::string& commonName,
                                 const Credential* issuer,
                                 Validity validity = {kTestNow - kDay, kTestNow + 30 * kDay}) {
  CertificateRequest request;
  request.profile = profile;
  request.commonName = commonName;
  request.validity = validity;
  Result<Credential> credential = createCredential(request, KeyType::EcP256, issuer);
  REQUIRE(credential.ok());
  return std::move(credential).value();
}

}  // namespace gw::pki::testing
