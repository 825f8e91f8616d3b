// "certgate pki show": print a certificate and optionally check it for client
// authentication against a CA bundle.
#include <cstdio>

#include <openssl/pem.h>

#include "gateway/config/load.h"
#include "gateway/pki/certificate.h"
#include "gateway/pki/client_auth_check.h"
#include "gateway/pki/command_line.h"
#include "gateway/pki/commands.h"
#include "gateway/pki/file_io.h"
#include "gateway/pki/show.h"

namespace gw::pki {
namespace {

constexpr OptionSpec kShowOptions[] = {
    {"--ca", true},
    {"--crl", true, true},
    {"--config", true},
};

constexpr char kShowHelp[] =
    "Usage: certgate pki show FILE [--ca FILE [--crl FILE]... | --config FILE]\n"
    "\n"
    "Print the first certificate of the PEM file FILE: subject and issuer\n"
    "(RFC 4514), serial (hex), validity (RFC 3339 UTC), public key, SHA-256\n"
    "fingerprint, subjectAltNames, key usage, extended key usage and CA flag.\n"
    "\n"
    "Options:\n"
    "  --ca FILE    PEM CA bundle: also report whether a TLS server trusting\n"
    "               exactly these certificates accepts FILE for client\n"
    "               authentication now, and if not, why (expired, unknown CA,\n"
    "               wrong purpose, ...). Certificates after the first in FILE are\n"
    "               used as intermediates. The exit status is 1 when rejected.\n"
    "  --crl FILE   PEM CRL to check the certificate's revocation against, with\n"
    "               --ca; repeatable\n"
    "  --config FILE  gateway configuration: check against its [tls] client_ca\n"
    "               and crl, as the running gateway would\n"
    "  --help       show this help\n";

Result<std::vector<bssl::UniquePtr<X509_CRL>>> readCrls(const std::vector<std::string>& paths) {
  std::vector<bssl::UniquePtr<X509_CRL>> crls;
  for (const std::string& path : paths) {
    Result<std::string> pem = readFile(path);
    if (!pem.ok()) {
      return Error{pem.error()};
    }
    bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
    bssl::UniquePtr<X509_CRL> crl(bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)
                                      : nullptr);
    if (!crl) {
      return Error{"no PEM CRL found in " + path};
    }
    crls.push_back(std::move(crl));
  }
  return crls;
}

int checkClientAuth(const std::string& caPath, const std::vector<std::string>& crlPaths,
                    std::vector<bssl::UniquePtr<X509>>& certificates, int64_t now) {
  Result<std::vector<bssl::UniquePtr<X509>>> trusted = readCertificatesFile(caPath);
  if (!trusted.ok()) {
    return printFailure("show", trusted.error());
  }
  Result<std::vector<bssl::UniquePtr<X509_CRL>>> crls = readCrls(crlPaths);
  if (!crls.ok()) {
    return printFailure("show", crls.error());
  }
  std::vector<X509*> trustedPointers;
  for (const bssl::UniquePtr<X509>& certificate : *trusted) {
    trustedPointers.push_back(certificate.get());
  }
  std::vector<X509*> untrusted;
  for (size_t i = 1; i < certificates.size(); i++) {
    untrusted.push_back(certificates[i].get());
  }
  std::vector<X509_CRL*> crlPointers;
  for (const bssl::UniquePtr<X509_CRL>& crl : *crls) {
    crlPointers.push_back(crl.get());
  }
  ClientAuthVerdict verdict =
      verifyForClientAuth(certificates.front().get(), untrusted, trustedPointers, crlPointers, now);
  if (verdict.accepted) {
    printf("client auth with %s: accepted\n", caPath.c_str());
    return kExitOk;
  }
  printf("client auth with %s: rejected: %s\n", caPath.c_str(), verdict.reason.c_str());
  return kExitFailure;
}

}  // namespace

int runShowCommand(std::span<char* const> args) {
  Result<ParsedArgs> parsed = parseArgs(args, kShowOptions);
  if (!parsed.ok()) {
    return printUsageError("show", parsed.error());
  }
  if (parsed->helpRequested()) {
    fputs(kShowHelp, stdout);
    return kExitOk;
  }
  if (parsed->positionals().size() != 1) {
    return printUsageError("show", "give exactly one certificate FILE");
  }
  if (parsed->has("--crl") && !parsed->has("--ca")) {
    return printUsageError("show", "--crl needs --ca");
  }
  if (parsed->has("--config") && parsed->has("--ca")) {
    return printUsageError("show", "give --ca or --config, not both");
  }
  Result<std::vector<bssl::UniquePtr<X509>>> certificates =
      readCertificatesFile(parsed->positionals()[0]);
  if (!certificates.ok()) {
    return printFailure("show", certificates.error());
  }
  int64_t now = currentTime();
  Result<std::string> description = describeCertificate(certificates->front().get(), now);
  if (!description.ok()) {
    return printFailure("show", description.error());
  }
  fputs(description->c_str(), stdout);
  if (parsed->has("--config")) {
    auto config = config::loadGatewayConfig(*parsed->value("--config"));
    if (!config) {
      return printFailure("show", "invalid configuration:\n" + config.error());
    }
    std::vector<std::string> crls;
    if (!config->tls.crl_file.empty()) {
      crls.push_back(config->tls.crl_file);
    }
    return checkClientAuth(config->tls.client_ca_file, crls, *certificates, now);
  }
  if (!parsed->has("--ca")) {
    return kExitOk;
  }
  return checkClientAuth(*parsed->value("--ca"), parsed->values("--crl"), *certificates, now);
}

}  // namespace gw::pki
