#include "gateway/tls/handshake_failure.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace gw::tls {

const char* reasonName(HandshakeFailure reason) {
  switch (reason) {
    case HandshakeFailure::NoCertificate:
      return "no_certificate";
    case HandshakeFailure::Expired:
      return "expired";
    case HandshakeFailure::NotYetValid:
      return "not_yet_valid";
    case HandshakeFailure::UnknownCa:
      return "unknown_ca";
    case HandshakeFailure::Revoked:
      return "revoked";
    case HandshakeFailure::CrlExpired:
      return "crl_expired";
    case HandshakeFailure::CrlNotYetValid:
      return "crl_not_yet_valid";
    case HandshakeFailure::BadPurpose:
      return "bad_purpose";
    case HandshakeFailure::BadCertificate:
      return "bad_certificate";
    case HandshakeFailure::ChainTooLong:
      return "chain_too_long";
    case HandshakeFailure::ProtocolVersion:
      return "protocol_version";
    case HandshakeFailure::NoSharedCipher:
      return "no_shared_cipher";
    case HandshakeFailure::HttpRequest:
      return "http_request";
    case HandshakeFailure::PeerAlert:
      return "peer_alert";
    case HandshakeFailure::HandshakeTimeout:
      return "handshake_timeout";
    case HandshakeFailure::Eof:
      return "eof";
    case HandshakeFailure::ProtocolError:
      return "protocol_error";
  }
  return "protocol_error";
}

namespace {

HandshakeFailure fromVerifyError(int verify_error) {
  switch (verify_error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return HandshakeFailure::Expired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return HandshakeFailure::NotYetValid;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return HandshakeFailure::UnknownCa;
    case X509_V_ERR_CERT_REVOKED:
      return HandshakeFailure::Revoked;
    case X509_V_ERR_CRL_HAS_EXPIRED:
      return HandshakeFailure::CrlExpired;
    case X509_V_ERR_CRL_NOT_YET_VALID:
      return HandshakeFailure::CrlNotYetValid;
    case X509_V_ERR_INVALID_PURPOSE:
      return HandshakeFailure::BadPurpose;
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
      return HandshakeFailure::ChainTooLong;
    default:
      return HandshakeFailure::BadCertificate;
  }
}

}  // namespace

HandshakeFailure classifyFailure(const ConnectionTlsInfo& info, uint32_t error_code) {
  if (info.verify_error != 0) {
    return fromVerifyError(info.verify_error);
  }
  if (ERR_GET_LIB(error_code) != ERR_LIB_SSL) {
    return HandshakeFailure::ProtocolError;
  }
  int reason = ERR_GET_REASON(error_code);
  switch (reason) {
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
      return HandshakeFailure::NoCertificate;
    case SSL_R_UNSUPPORTED_PROTOCOL:
      return HandshakeFailure::ProtocolVersion;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_SHARED_GROUP:
      return HandshakeFailure::NoSharedCipher;
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
      return HandshakeFailure::HttpRequest;
    default:
      break;
  }
  // Alerts received from the peer have reasons SSL_AD_REASON_OFFSET + alert.
  if (reason > SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
    return HandshakeFailure::PeerAlert;
  }
  return HandshakeFailure::ProtocolError;
}

}  // namespace gw::tls
