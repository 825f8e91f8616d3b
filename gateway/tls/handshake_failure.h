// Classification of failed handshakes into a fixed set of reason codes, so
// that logs and counters state why a client was rejected.
#pragma once

#include <cstdint>
#include <string>

#include "gateway/tls/tls_context.h"

namespace gw::tls {

// HandshakeFailure is the reason code logged as "reason=..." in
// tls.handshake_rejected lines.
enum class HandshakeFailure {
  NoCertificate,  // the client sent no certificate
  Expired,        // a certificate in the chain has expired
  NotYetValid,    // a certificate in the chain is not valid yet
  UnknownCa,      // the chain does not lead to a configured client CA
  Revoked,        // the certificate is on a loaded CRL
  // The gateway's CRL for the issuer is past its nextUpdate, which is a
  // configuration problem and not the client's. BoringSSL still sends the
  // client the alert certificate_expired for this verify error (12).
  CrlExpired,
  CrlNotYetValid,    // the gateway's CRL is before its lastUpdate (verify error 11)
  BadPurpose,        // the certificate is not for client authentication
  ChainTooLong,      // the chain is longer than the gateway accepts
  BadCertificate,    // any other verification failure
  ProtocolVersion,   // no TLS version in common
  NoSharedCipher,    // no cipher suite or group in common
  HttpRequest,       // plain HTTP sent to the TLS port
  PeerAlert,         // the client aborted with an alert
  HandshakeTimeout,  // the handshake did not finish in time
  Eof,               // the client closed the connection mid-handshake
  ProtocolError,     // anything else
};

// reasonName returns the code as it appears in logs ("unknown_ca").
const char* reasonName(HandshakeFailure reason);

// classifyFailure derives the reason from the verify callback's record in
// |info| and the first BoringSSL error code |error_code|.
HandshakeFailure classifyFailure(const ConnectionTlsInfo& info, uint32_t error_code);

}  // namespace gw::tls
