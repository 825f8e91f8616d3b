// "certgate pki init" and "certgate pki issue".
#include <cstdio>

#include "gateway/pki/ca_store.h"
#include "gateway/pki/command_line.h"
#include "gateway/pki/commands.h"
#include "gateway/pki/credential.h"
#include "gateway/pki/name.h"
#include "gateway/pki/rfc3339.h"

namespace gw::pki {
namespace {

constexpr int kDefaultLeafDays = 365;

constexpr OptionSpec kInitOptions[] = {
    {"--dir", true},  {"--cn", true},     {"--intermediate-cn", true}, {"--no-intermediate", false},
    {"--days", true}, {"--force", false},
};

constexpr char kInitHelp[] =
    "Usage: certgate pki init --dir DIR [OPTIONS]\n"
    "\n"
    "Create a CA directory: a root CA and, unless --no-intermediate, an\n"
    "intermediate CA (pathLenConstraint 0) that signs every certificate that\n"
    "'certgate pki issue' creates. Keys are EC P-256, written with mode 0600.\n"
    "Files: root.crt, root.key, intermediate.crt, intermediate.key, chain.crt\n"
    "(intermediate then root: the gateway's client CA bundle) and index.txt\n"
    "(the record of issued certificates). With an intermediate, the commands\n"
    "after init never read root.key, so it can be moved offline.\n"
    "\n"
    "Options:\n"
    "  --dir DIR               CA directory, created with mode 0700 if missing (required)\n"
    "  --cn NAME               root CA common name (default: certgate Root CA)\n"
    "  --intermediate-cn NAME  intermediate CA common name (default: NAME with a\n"
    "                          trailing ' Root CA' replaced by ' Intermediate CA')\n"
    "  --no-intermediate       let the root CA sign certificates directly\n"
    "  --days N                validity of both CA certificates in days, 1-36500\n"
    "                          (default: 3650)\n"
    "  --force                 replace an existing CA in DIR; certificates it issued\n"
    "                          will no longer verify\n"
    "  --help                  show this help\n";

constexpr OptionSpec kIssueOptions[] = {
    {"--dir", true},       {"--cn", true},  {"--client", false}, {"--server", false},
    {"--san", true, true}, {"--ou", true},  {"--days", true},    {"--not-before", true},
    {"--not-after", true}, {"--key", true}, {"--out", true},     {"--force", false},
};

constexpr char kIssueHelp[] =
    "Usage: certgate pki issue --dir DIR --cn NAME (--client | --server) --out PREFIX [OPTIONS]\n"
    "\n"
    "Issue a certificate signed by the issuing CA of DIR and write PREFIX.key\n"
    "(mode 0600) and PREFIX.crt. PREFIX.crt contains the certificate followed by\n"
    "the intermediate CA certificate, if DIR has one, so that a TLS server or\n"
    "client can send it as its chain; tools that read one certificate read the\n"
    "first. The certificate is added to DIR/index.txt.\n"
    "\n"
    "Profiles (exactly one):\n"
    "  --client     extendedKeyUsage clientAuth, keyUsage digitalSignature\n"
    "  --server     extendedKeyUsage serverAuth, keyUsage digitalSignature (plus\n"
    "               keyEncipherment for RSA keys); without --san, the common name\n"
    "               becomes the DNS SAN, so it must then be a DNS name\n"
    "\n"
    "Options:\n"
    "  --dir DIR            CA directory created by 'certgate pki init' (required)\n"
    "  --cn NAME            subject common name, 1-64 characters (required)\n"
    "  --ou NAME            subject organizational unit, 1-64 characters\n"
    "  --san TYPE:VALUE     subjectAltName, repeatable: dns:NAME, ip:ADDRESS (IPv4 or\n"
    "                       IPv6), uri:URI (for example a SPIFFE ID), email:ADDRESS\n"
    "  --days N             validity in days from now, 1-36500 (default: 365)\n"
    "  --not-before TIME    start of validity, RFC 3339 UTC such as 2026-01-02T03:04:05Z\n"
    "  --not-after TIME     end of validity, same form; give both instead of --days\n"
    "  --key TYPE           key algorithm: ec-p256 (default), rsa-2048, rsa-3072 or\n"
    "                       ed25519 (browsers do not support ed25519 in TLS)\n"
    "  --out PREFIX         output path without extension; a missing directory is\n"
    "                       created with mode 0700 (required)\n"
    "  --force              replace existing PREFIX.crt and PREFIX.key\n"
    "  --help               show this help\n"
    "\n"
    "notBefore is set 5 minutes before now for clients with slow clocks. The\n"
    "validity must end before the issuing CA's.\n";

Result<Validity> parseValidity(const ParsedArgs& args, int64_t now) {
  bool hasNotBefore = args.has("--not-before");
  bool hasNotAfter = args.has("--not-after");
  if (args.has("--days") && (hasNotBefore || hasNotAfter)) {
    return Error{"--days cannot be combined with --not-before or --not-after"};
  }
  if (hasNotBefore != hasNotAfter) {
    return Error{"--not-before and --not-after must be given together"};
  }
  if (!hasNotBefore) {
    Result<int> days =
        parseDays("--days", args.value("--days").value_or(std::to_string(kDefaultLeafDays)));
    if (!days.ok()) {
      return Error{days.error()};
    }
    return Validity{now - kClockSkewSeconds, now + static_cast<int64_t>(*days) * 86400};
  }
  Result<int64_t> notBefore = parseRfc3339Utc(*args.value("--not-before"));
  Result<int64_t> notAfter = parseRfc3339Utc(*args.value("--not-after"));
  if (!notBefore.ok() || !notAfter.ok()) {
    return Error{"invalid " + std::string(notBefore.ok() ? "--not-after: " + notAfter.error()
                                                         : "--not-before: " + notBefore.error())};
  }
  if (*notAfter <= *notBefore) {
    return Error{"--not-after must be later than --not-before"};
  }
  return Validity{*notBefore, *notAfter};
}

Result<std::vector<SubjectAltName>> parseSans(const ParsedArgs& args, CertificateProfile profile,
                                              const std::string& commonName) {
  std::vector<SubjectAltName> names;
  for (const std::string& text : args.values("--san")) {
    Result<SubjectAltName> name = parseSubjectAltName(text);
    if (!name.ok()) {
      return Error{name.error()};
    }
    names.push_back(std::move(name).value());
  }
  if (names.empty() && profile == CertificateProfile::Server) {
    if (!isValidDnsName(commonName, true)) {
      return Error{"a server certificate needs a --san, because --cn '" + commonName +
                   "' is not a DNS name"};
    }
    names.push_back(SubjectAltName{SanType::Dns, commonName});
  }
  return names;
}

Result<CertificateRequest> buildIssueRequest(const ParsedArgs& args, int64_t now) {
  if (args.has("--client") == args.has("--server")) {
    return Error{"give exactly one of --client and --server"};
  }
  CertificateRequest request;
  request.profile = args.has("--server") ? CertificateProfile::Server : CertificateProfile::Client;
  request.commonName = args.value("--cn").value_or("");
  request.organizationalUnit = args.value("--ou").value_or("");
  Status status = validateNameText("--cn", request.commonName);
  if (status.ok() && args.has("--ou")) {
    status = validateNameText("--ou", request.organizationalUnit);
  }
  if (!status.ok()) {
    return Error{status.error()};
  }
  Result<Validity> validity = parseValidity(args, now);
  if (!validity.ok()) {
    return Error{validity.error()};
  }
  request.validity = *validity;
  Result<std::vector<SubjectAltName>> names = parseSans(args, request.profile, request.commonName);
  if (!names.ok()) {
    return Error{names.error()};
  }
  request.subjectAltNames = std::move(names).value();
  return request;
}

// missingRequiredOption returns the first of |names| absent from |args|, or
// an empty view when all are present.
std::string_view missingRequiredOption(const ParsedArgs& args,
                                       std::initializer_list<std::string_view> names) {
  for (std::string_view name : names) {
    if (!args.has(name)) {
      return name;
    }
  }
  return {};
}

// prepareOutput checks that PREFIX.crt and PREFIX.key may be written and
// creates their directory. It runs before the certificate enters the record.
Status prepareOutput(const std::string& prefix, bool force) {
  if (!force) {
    Status pathsFree = checkCredentialPathsFree(credentialPathsFor(prefix));
    if (!pathsFree.ok()) {
      return pathsFree;
    }
  }
  size_t slash = prefix.find_last_of('/');
  if (slash == std::string::npos || slash == 0) {
    return okStatus();
  }
  return createDirectory(prefix.substr(0, slash));
}

int issueAndWrite(const ParsedArgs& args, const CertificateRequest& request, KeyType keyType) {
  Result<CaStore> store = CaStore::open(*args.value("--dir"));
  if (!store.ok()) {
    return printFailure("issue", store.error());
  }
  std::string prefix = *args.value("--out");
  bool force = args.has("--force");
  Status prepared = prepareOutput(prefix, force);
  if (!prepared.ok()) {
    return printFailure("issue", prepared.error());
  }

  Result<bssl::UniquePtr<EVP_PKEY>> key = generateKey(keyType);
  if (!key.ok()) {
    return printFailure("issue", key.error());
  }
  Result<bssl::UniquePtr<X509>> certificate = store->issue(request, key->get());
  if (!certificate.ok()) {
    return printFailure("issue", certificate.error());
  }

  std::vector<std::string> written;
  Status status =
      writeCredential(credentialPathsFor(prefix), key->get(), certificate->get(),
                      store->intermediates(), force ? Overwrite::Yes : Overwrite::No, &written);
  for (const std::string& path : written) {
    printf("wrote %s\n", path.c_str());
  }
  if (!status.ok()) {
    return printFailure("issue", status.error() + " (the certificate is already in the CA record)");
  }
  printf("serial %s, valid until %s\n", serialHexOf(certificate->get()).c_str(),
         formatRfc3339Utc(request.validity.notAfter).c_str());
  return kExitOk;
}

}  // namespace

int runInitCommand(std::span<char* const> args) {
  Result<ParsedArgs> parsed = parseArgs(args, kInitOptions);
  if (!parsed.ok()) {
    return printUsageError("init", parsed.error());
  }
  if (parsed->helpRequested()) {
    fputs(kInitHelp, stdout);
    return kExitOk;
  }
  if (!parsed->has("--dir")) {
    return printUsageError("init", "missing --dir DIR");
  }
  if (!parsed->positionals().empty()) {
    return printUsageError("init", "unexpected argument '" + parsed->positionals()[0] + "'");
  }
  Result<int> days =
      parseDays("--days", parsed->value("--days").value_or(std::to_string(CaInitOptions{}.days)));
  if (!days.ok()) {
    return printUsageError("init", days.error());
  }
  CaInitOptions options;
  options.directory = *parsed->value("--dir");
  options.commonName = parsed->value("--cn").value_or(options.commonName);
  options.intermediateCommonName = parsed->value("--intermediate-cn").value_or("");
  options.withIntermediate = !parsed->has("--no-intermediate");
  options.days = *days;
  options.force = parsed->has("--force");

  Result<std::vector<std::string>> written = initCa(options, currentTime());
  if (!written.ok()) {
    return printFailure("init", written.error());
  }
  for (const std::string& path : *written) {
    printf("wrote %s\n", path.c_str());
  }
  return kExitOk;
}

int runIssueCommand(std::span<char* const> args) {
  Result<ParsedArgs> parsed = parseArgs(args, kIssueOptions);
  if (!parsed.ok()) {
    return printUsageError("issue", parsed.error());
  }
  if (parsed->helpRequested()) {
    fputs(kIssueHelp, stdout);
    return kExitOk;
  }
  std::string_view missing = missingRequiredOption(*parsed, {"--dir", "--cn", "--out"});
  if (!missing.empty()) {
    return printUsageError("issue", "missing " + std::string(missing));
  }
  if (!parsed->positionals().empty()) {
    return printUsageError("issue", "unexpected argument '" + parsed->positionals()[0] + "'");
  }
  std::string keyName = parsed->value("--key").value_or("ec-p256");
  std::optional<KeyType> keyType = parseKeyType(keyName);
  if (!keyType) {
    return printUsageError("issue", "invalid --key '" + keyName +
                                        "': expected ec-p256, rsa-2048, rsa-3072 or ed25519");
  }
  Result<CertificateRequest> request = buildIssueRequest(*parsed, currentTime());
  if (!request.ok()) {
    return printUsageError("issue", request.error());
  }
  return issueAndWrite(*parsed, *request, *keyType);
}

}  // namespace gw::pki
