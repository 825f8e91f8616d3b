// "certgate pki export": a PKCS#12 bundle for browsers and key stores.
#include <cstdio>

#include <openssl/mem.h>

#include "gateway/pki/certificate.h"
#include "gateway/pki/command_line.h"
#include "gateway/pki/commands.h"
#include "gateway/pki/key.h"
#include "gateway/pki/name.h"
#include "gateway/pki/pkcs12.h"

namespace gw::pki {
namespace {

constexpr OptionSpec kExportOptions[] = {
    {"--cert", true},          {"--key", true},     {"--chain", true}, {"--out", true},
    {"--password-file", true}, {"--legacy", false}, {"--name", true},  {"--force", false},
};

constexpr char kExportHelp[] =
    "Usage: certgate pki export --cert FILE --key FILE --out FILE.p12 [OPTIONS]\n"
    "\n"
    "Bundle a private key, its certificate and the CA chain into a PKCS#12\n"
    "file (mode 0600) for import into a browser, an operating system key store\n"
    "or NSS. Without --password-file, a random 24-character password is\n"
    "generated and printed once; it is stored nowhere.\n"
    "\n"
    "Options:\n"
    "  --cert FILE            PEM certificate; certificates after the first are\n"
    "                         added as the chain (required)\n"
    "  --key FILE             unencrypted PEM private key of the certificate (required)\n"
    "  --chain FILE           more PEM CA certificates to include, issuer first\n"
    "  --out FILE             output file (required)\n"
    "  --password-file FILE   read the password from the first line of FILE\n"
    "  --legacy               3DES encryption with a SHA-1 MAC, for importers that\n"
    "                         cannot read the default format (see docs/pki.md);\n"
    "                         default: AES-256-CBC with PBKDF2-HMAC-SHA256 and a\n"
    "                         SHA-256 MAC\n"
    "  --name NAME            friendly name importers show (default: the\n"
    "                         certificate's common name)\n"
    "  --force                replace an existing output file\n"
    "  --help                 show this help\n";

// readPasswordFile returns the first line of |path| without its line ending.
Result<std::string> readPasswordFile(const std::string& path) {
  Result<std::string> content = readFile(path, 4096);
  if (!content.ok()) {
    return content;
  }
  std::string password = content->substr(0, content->find('\n'));
  OPENSSL_cleanse(content->data(), content->size());
  if (!password.empty() && password.back() == '\r') {
    password.pop_back();
  }
  Status valid = validatePkcs12Password(password);
  if (!valid.ok()) {
    return Error{valid.error() + " (read from " + path + ")"};
  }
  return password;
}

// obtainPassword reads --password-file or, without it, generates a password.
Result<std::string> obtainPassword(const ParsedArgs& args) {
  if (args.has("--password-file")) {
    return readPasswordFile(*args.value("--password-file"));
  }
  return generatePkcs12Password();
}

// LoadedBundle owns what goes into the PKCS#12 file.
struct LoadedBundle {
  bssl::UniquePtr<EVP_PKEY> key;
  std::vector<bssl::UniquePtr<X509>> certificates;  // Leaf first, then the chain.
};

// appendUnique moves the certificates of |source| into |target|, skipping
// any that |target| already contains.
void appendUnique(std::vector<bssl::UniquePtr<X509>>& target,
                  std::vector<bssl::UniquePtr<X509>>& source) {
  for (bssl::UniquePtr<X509>& certificate : source) {
    bool duplicate = false;
    for (const bssl::UniquePtr<X509>& existing : target) {
      duplicate = duplicate || X509_cmp(existing.get(), certificate.get()) == 0;
    }
    if (!duplicate) {
      target.push_back(std::move(certificate));
    }
  }
}

Result<LoadedBundle> loadBundle(const ParsedArgs& args) {
  LoadedBundle bundle;
  Result<std::vector<bssl::UniquePtr<X509>>> certificates =
      readCertificatesFile(*args.value("--cert"));
  if (!certificates.ok()) {
    return Error{certificates.error()};
  }
  bundle.certificates = std::move(certificates).value();
  if (args.has("--chain")) {
    Result<std::vector<bssl::UniquePtr<X509>>> chain = readCertificatesFile(*args.value("--chain"));
    if (!chain.ok()) {
      return Error{chain.error()};
    }
    appendUnique(bundle.certificates, *chain);
  }
  Result<bssl::UniquePtr<EVP_PKEY>> key = readPrivateKeyFile(*args.value("--key"));
  if (!key.ok()) {
    return Error{key.error()};
  }
  bundle.key = std::move(key).value();
  if (!certificateMatchesKey(bundle.certificates.front().get(), bundle.key.get())) {
    return Error{*args.value("--key") + " is not the private key of the first certificate in " +
                 *args.value("--cert")};
  }
  return bundle;
}

int writeBundle(const ParsedArgs& args, const LoadedBundle& bundle, const std::string& password) {
  X509* leaf = bundle.certificates.front().get();
  Pkcs12Contents contents;
  contents.key = bundle.key.get();
  contents.certificate = leaf;
  for (size_t i = 1; i < bundle.certificates.size(); i++) {
    contents.chain.push_back(bundle.certificates[i].get());
  }
  contents.friendlyName = args.value("--name").value_or(commonNameOf(X509_get_subject_name(leaf)));
  Pkcs12Format format = args.has("--legacy") ? Pkcs12Format::Legacy : Pkcs12Format::Modern;
  Result<std::string> der = encodePkcs12(contents, password, format);
  if (!der.ok()) {
    return printFailure("export", der.error());
  }
  std::string out = *args.value("--out");
  Overwrite overwrite = args.has("--force") ? Overwrite::Yes : Overwrite::No;
  Status written = writeFile(out, *der, FileMode::Private, overwrite);
  if (!written.ok()) {
    bool exists = written.error().ends_with("already exists");
    return printFailure("export", written.error() + (exists ? "; pass --force to replace it" : ""));
  }
  printf("wrote %s (%s format, %zu CA certificate%s)\n", out.c_str(),
         format == Pkcs12Format::Legacy ? "legacy 3DES/SHA-1" : "AES-256/SHA-256",
         contents.chain.size(), contents.chain.size() == 1 ? "" : "s");
  return kExitOk;
}

}  // namespace

int runExportCommand(std::span<char* const> args) {
  Result<ParsedArgs> parsed = parseArgs(args, kExportOptions);
  if (!parsed.ok()) {
    return printUsageError("export", parsed.error());
  }
  if (parsed->helpRequested()) {
    fputs(kExportHelp, stdout);
    return kExitOk;
  }
  for (std::string_view required : {"--cert", "--key", "--out"}) {
    if (!parsed->has(required)) {
      return printUsageError("export", "missing " + std::string(required));
    }
  }
  if (!parsed->positionals().empty()) {
    return printUsageError("export", "unexpected argument '" + parsed->positionals()[0] + "'");
  }

  Result<LoadedBundle> bundle = loadBundle(*parsed);
  if (!bundle.ok()) {
    return printFailure("export", bundle.error());
  }

  bool generated = !parsed->has("--password-file");
  Result<std::string> password = obtainPassword(*parsed);
  if (!password.ok()) {
    return printFailure("export", password.error());
  }

  int status = writeBundle(*parsed, *bundle, *password);
  if (status == kExitOk && generated) {
    printf("password (shown once, stored nowhere): %s\n", password->c_str());
  }
  OPENSSL_cleanse(password->data(), password->size());
  return status;
}

}  // namespace gw::pki
