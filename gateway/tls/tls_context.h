// The server-side TLS configuration (one SSL_CTX), built from TlsConfig.
//
// Client certificates are required and verified against the configured CA
// file during the handshake, so a client without an acceptable certificate
// never reaches HTTP. The server sends its chain so that clients can verify
// it against the CA.
#pragma once

#include <string>
#include <vector>

#include <openssl/ssl.h>

#include "gateway/common/result.h"
#include "gateway/config/config.h"

namespace gw::tls {

// createServerContext loads the certificate, key, chain, client CA and
// optional CRL named in |config|. It fails with a message naming the file
// and the problem: unreadable, not PEM, key not matching the certificate,
// no CA certificate in the CA file.
Result<bssl::UniquePtr<SSL_CTX>> createServerContext(const config::TlsConfig& config);

// ConnectionTlsInfo is per-connection data that the verify and info
// callbacks fill during a handshake; the connection reads it afterwards to
// explain a rejection.
struct ConnectionTlsInfo {
  int verify_error = 0;            // X509_V_* of the first failure, 0 if none
  int verify_depth = -1;           // chain depth of that failure
  bssl::UniquePtr<X509> rejected;  // the client's leaf certificate when verification failed
  int alert_sent = -1;             // TLS alert description sent, -1 if none
};

// reverifyPeer checks the peer certificate chain of the established
// connection |ssl| again, against the trust settings (CAs, CRLs) of |ctx|
// and the current time. It returns X509_V_OK or the X509_V_ERR_* code. The
// gateway calls it when the configuration was reloaded since the handshake,
// so a revoked certificate or a removed CA ends access on open connections.
int reverifyPeer(SSL* ssl, SSL_CTX* ctx);

// verifyChain checks |leaf| with the untrusted intermediates |chain| (may be
// null) against the trust settings of |ctx| for client authentication, as
// the handshake would. It returns X509_V_OK or the X509_V_ERR_* code.
int verifyChain(X509* leaf, STACK_OF(X509) * chain, SSL_CTX* ctx);

// CertificateExpiry names one certificate the gateway relies on and when it
// expires, for metrics and start-up warnings.
struct CertificateExpiry {
  std::string role;       // "server" or "client_ca"
  std::string subject;    // RFC 4514
  std::string not_after;  // RFC 3339, UTC
};

// certificateExpiries lists the server certificate and every client CA
// certificate named in |config|. Unreadable files give no entries; the
// context builder reports those.
std::vector<CertificateExpiry> certificateExpiries(const config::TlsConfig& config);

// attachTlsInfo makes |info| available to the callbacks for |ssl|. |info|
// is borrowed and must outlive the handshake.
void attachTlsInfo(SSL* ssl, ConnectionTlsInfo* info);

}  // namespace gw::tls
