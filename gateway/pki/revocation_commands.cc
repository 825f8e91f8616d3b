// "certgate pki revoke" and "certgate pki crl".
#include <cstdio>

#include "gateway/pki/ca_store.h"
#include "gateway/pki/command_line.h"
#include "gateway/pki/commands.h"
#include "gateway/pki/rfc3339.h"

namespace gw::pki {
namespace {

constexpr OptionSpec kRevokeOptions[] = {
    {"--dir", true},
    {"--cert", true},
    {"--serial", true},
    {"--reason", true},
};

constexpr char kRevokeHelp[] =
    "Usage: certgate pki revoke --dir DIR (--cert FILE | --serial HEX) [--reason REASON]\n"
    "\n"
    "Mark a certificate issued by the CA in DIR as revoked in DIR/index.txt.\n"
    "Relying parties see the revocation once you publish a new CRL with\n"
    "'certgate pki crl'.\n"
    "\n"
    "Options:\n"
    "  --dir DIR         CA directory created by 'certgate pki init' (required)\n"
    "  --cert FILE       PEM certificate to revoke (the first one in FILE); it must\n"
    "                    carry a valid signature of the issuing CA\n"
    "  --serial HEX      serial number to revoke, as 'show' prints it; 0x prefix\n"
    "                    and colons are accepted\n"
    "  --reason REASON   unspecified (default), keyCompromise, caCompromise,\n"
    "                    affiliationChanged, superseded or cessationOfOperation\n"
    "  --help            show this help\n";

constexpr OptionSpec kCrlOptions[] = {
    {"--dir", true},
    {"--days", true},
    {"--out", true},
};

constexpr char kCrlHelp[] =
    "Usage: certgate pki crl --dir DIR [--days N] [--out FILE]\n"
    "\n"
    "Write a CRL, signed by the issuing CA of DIR, that lists every revoked\n"
    "certificate of DIR/index.txt with its revocation time and reason code. Each\n"
    "run increments the cRLNumber kept in DIR/crlnumber. Publish a new CRL\n"
    "before the nextUpdate time: verifiers reject a CRL past it.\n"
    "\n"
    "Options:\n"
    "  --dir DIR    CA directory created by 'certgate pki init' (required)\n"
    "  --days N     days until nextUpdate, 1-36500 (default: 30)\n"
    "  --out FILE   output PEM file, replaced if it exists (default: DIR/crl.pem)\n"
    "  --help       show this help\n";

// serialToRevoke returns the serial from --serial, or from the certificate
// in --cert after checking that the CA in |store| issued it.
Result<std::string> serialToRevoke(const ParsedArgs& args, const CaStore& store) {
  if (args.has("--serial")) {
    return *args.value("--serial");
  }
  std::string path = *args.value("--cert");
  Result<std::vector<bssl::UniquePtr<X509>>> certificates = readCertificatesFile(path);
  if (!certificates.ok()) {
    return Error{certificates.error()};
  }
  const X509* certificate = certificates->front().get();
  Status issuedHere = store.checkIssuedHere(certificate, path);
  if (!issuedHere.ok()) {
    return Error{issuedHere.error()};
  }
  return serialHexOf(certificate);
}

}  // namespace

int runRevokeCommand(std::span<char* const> args) {
  Result<ParsedArgs> parsed = parseArgs(args, kRevokeOptions);
  if (!parsed.ok()) {
    return printUsageError("revoke", parsed.error());
  }
  if (parsed->helpRequested()) {
    fputs(kRevokeHelp, stdout);
    return kExitOk;
  }
  if (!parsed->has("--dir")) {
    return printUsageError("revoke", "missing --dir DIR");
  }
  if (parsed->has("--cert") == parsed->has("--serial") || !parsed->positionals().empty()) {
    return printUsageError("revoke", "give exactly one of --cert FILE and --serial HEX");
  }
  std::string reasonName = parsed->value("--reason").value_or("unspecified");
  std::optional<RevocationReason> reason = parseRevocationReason(reasonName);
  if (!reason) {
    return printUsageError("revoke", "invalid --reason '" + reasonName + "'");
  }

  Result<CaStore> store = CaStore::open(*parsed->value("--dir"));
  if (!store.ok()) {
    return printFailure("revoke", store.error());
  }
  Result<std::string> serial = serialToRevoke(*parsed, *store);
  if (!serial.ok()) {
    return printFailure("revoke", serial.error());
  }
  Result<RecordEntry> revoked = store->revoke(*serial, *reason, currentTime());
  if (!revoked.ok()) {
    return printFailure("revoke", revoked.error());
  }
  printf("revoked serial %s (%s) at %s, reason %s\n", revoked->serialHex.c_str(),
         revoked->subject.c_str(), formatRfc3339Utc(revoked->revokedAt).c_str(),
         std::string(revocationReasonName(revoked->reason)).c_str());
  printf("publish it with: certgate pki crl --dir %s\n", store->directory().c_str());
  return kExitOk;
}

int runCrlCommand(std::span<char* const> args) {
  Result<ParsedArgs> parsed = parseArgs(args, kCrlOptions);
  if (!parsed.ok()) {
    return printUsageError("crl", parsed.error());
  }
  if (parsed->helpRequested()) {
    fputs(kCrlHelp, stdout);
    return kExitOk;
  }
  if (!parsed->has("--dir")) {
    return printUsageError("crl", "missing --dir DIR");
  }
  if (!parsed->positionals().empty()) {
    return printUsageError("crl", "unexpected argument '" + parsed->positionals()[0] + "'");
  }
  Result<int> days = parseDays("--days", parsed->value("--days").value_or("30"));
  if (!days.ok()) {
    return printUsageError("crl", days.error());
  }
  std::string directory = *parsed->value("--dir");
  std::string out = parsed->value("--out").value_or(joinPath(directory, kDefaultCrlFile));

  Result<CaStore> store = CaStore::open(directory);
  if (!store.ok()) {
    return printFailure("crl", store.error());
  }
  int64_t now = currentTime();
  int64_t nextUpdate = now + static_cast<int64_t>(*days) * 86400;
  Result<CrlOutput> crl = store->createCrl(now, nextUpdate);
  if (!crl.ok()) {
    return printFailure("crl", crl.error());
  }
  Status written = writeFile(out, crl->pem, FileMode::Public, Overwrite::Yes);
  if (!written.ok()) {
    return printFailure("crl", written.error());
  }
  printf("wrote %s (CRL number %llu, %zu revoked, next update %s)\n", out.c_str(),
         static_cast<unsigned long long>(crl->crlNumber), crl->numRevoked,
         formatRfc3339Utc(nextUpdate).c_str());
  return kExitOk;
}

}  // namespace gw::pki
