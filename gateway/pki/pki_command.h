// The "certgate pki" command family: a small certificate authority built on
// BoringSSL (demo PKI, CA init, issue, revoke, CRL, PKCS#12 export, show).
#pragma once

namespace gw::pki {

// runPkiCommand runs "certgate pki SUBCOMMAND ..." where |argv[0]| is the
// subcommand. It prints results to stdout and errors to stderr, and returns
// the process exit code (0 on success, 1 on failure, 2 on a usage error).
int runPkiCommand(int argc, char** argv);

}  // namespace gw::pki
