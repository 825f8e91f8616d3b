// The server-side TLS configuration (one SSL_CTX), built from TlsConfig.
//
// Client certificates are required and verified against the configured CA
// file during the handshake, through the verified-chain cache, so a client
// without an acceptable certificate never reaches HTTP. The server sends its chain so that clients
// can verify it against the CA.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <openssl/ssl.h>

#include "gateway/common/result.h"
#include "gateway/config/config.h"
#include "gateway/tls/verified_chain_cache.h"

namespace gw::tls {

// createServerContext loads the certificate, key, chain, client CA and
// optional CRL named in |config|. It fails with a message naming the file
// and the problem: unreadable, not PEM, key not matching the certificate,
// no CA certificate in the CA file.
Result<bssl::UniquePtr<SSL_CTX>> createServerContext(const config::TlsConfig& config);

// ConnectionTlsInfo is per-connection data that the verify and info
// callbacks fill during a handshake; the connection reads it afterwards to
// explain a rejection and to get the client's identity.
struct ConnectionTlsInfo {
  int verify_error = 0;            // X509_V_* of the first failure, 0 if none
  int verify_depth = -1;           // chain depth of that failure
  bssl::UniquePtr<X509> rejected;  // the client's leaf certificate when verification failed
  int alert_sent = -1;             // TLS alert description sent, -1 if none
  // The verified client chain with its parsed identity, shared with the
  // verified-chain cache. Null when the client sent no certificate or
  // verification failed.
  std::shared_ptr<const VerifiedChain> verified;
};

// verifyPeer checks the certificate chain the peer of |ssl| sent against
// the client trust (CAs, CRLs) of |ctx| at the current time, through the
// verified-chain cache. A peer without a certificate gives X509_V_OK and no
// chain. The handshake calls it, a resumed session calls it because
// resumption skips verification, and the gateway calls it with the new
// context after a reload, so a revoked certificate or a removed CA ends
// access on open connections.
ChainCheck verifyPeer(const SSL* ssl, SSL_CTX* ctx);

// recordVerifyFailure stores |check| and the peer's parsed leaf certificate
// in the ConnectionTlsInfo attached to |ssl|, unless a failure is recorded
// already.
void recordVerifyFailure(const SSL* ssl, const ChainCheck& check);

// verifyPeerWithTrust checks the peer chain of |ssl| against |trust| (a
// route's own client CA and CRL) at the current time, through the
// verified-chain cache. It returns X509_V_OK or the X509_V_ERR_* code, also
// for a peer without a certificate.
int verifyPeerWithTrust(const SSL* ssl, const ClientTrust& trust);

// verifyChain checks |leaf| with the untrusted intermediates |chain| (may be
// null) against the client trust of |ctx| for client authentication, as
// the handshake would, without the cache. It returns X509_V_OK or the
// X509_V_ERR_* code.
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

// loadRouteTrust builds the client trust of a route from the CA
// certificates in |ca_file| and, if |crl_file| is not empty, its CRLs
// (checked for the client certificate). Errors name the file.
Result<std::unique_ptr<const ClientTrust>> loadRouteTrust(const std::string& ca_file,
                                                          const std::string& crl_file);

// verifyChainInStore is verifyChain against |store| instead of a context.
int verifyChainInStore(X509* leaf, STACK_OF(X509) * chain, X509_STORE* store);

// attachTlsInfo makes |info| available to the callbacks for |ssl|. |info|
// is borrowed and must outlive the handshake.
void attachTlsInfo(SSL* ssl, ConnectionTlsInfo* info);

}  // namespace gw::tls
