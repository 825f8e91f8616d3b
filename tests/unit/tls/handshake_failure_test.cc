#include "gateway/tls/handshake_failure.h"

#include <set>
#include <string>

#include <doctest/doctest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace {

using gw::tls::classifyFailure;
using gw::tls::ConnectionTlsInfo;
using gw::tls::HandshakeFailure;
using gw::tls::reasonName;

HandshakeFailure classifyVerifyError(int verify_error) {
  ConnectionTlsInfo info;
  info.verify_error = verify_error;
  return classifyFailure(info, 0);
}

HandshakeFailure classifySslReason(int reason) {
  ConnectionTlsInfo info;
  return classifyFailure(info, ERR_PACK(ERR_LIB_SSL, reason));
}

}  // namespace

TEST_SUITE("tls.classifyFailure") {
  TEST_CASE("verify errors map to reasons") {
    struct Case {
      int verify_error;
      HandshakeFailure reason;
    };
    const Case cases[] = {
        {X509_V_ERR_CERT_HAS_EXPIRED, HandshakeFailure::Expired},
        {X509_V_ERR_CERT_NOT_YET_VALID, HandshakeFailure::NotYetValid},
        {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, HandshakeFailure::UnknownCa},
        {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, HandshakeFailure::UnknownCa},
        {X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, HandshakeFailure::UnknownCa},
        {X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, HandshakeFailure::UnknownCa},
        {X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, HandshakeFailure::UnknownCa},
        {X509_V_ERR_CERT_REVOKED, HandshakeFailure::Revoked},
        {X509_V_ERR_CRL_HAS_EXPIRED, HandshakeFailure::CrlExpired},
        {X509_V_ERR_CRL_NOT_YET_VALID, HandshakeFailure::CrlNotYetValid},
        {X509_V_ERR_INVALID_PURPOSE, HandshakeFailure::BadPurpose},
        {X509_V_ERR_CERT_SIGNATURE_FAILURE, HandshakeFailure::BadCertificate},
        {X509_V_ERR_INVALID_CA, HandshakeFailure::BadCertificate},
    };
    for (const Case& c : cases) {
      CAPTURE(c.verify_error);
      CHECK(classifyVerifyError(c.verify_error) == c.reason);
    }
  }

  TEST_CASE("SSL error codes map to reasons") {
    struct Case {
      int ssl_reason;
      HandshakeFailure reason;
    };
    const Case cases[] = {
        {SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE, HandshakeFailure::NoCertificate},
        {SSL_R_HTTP_REQUEST, HandshakeFailure::HttpRequest},
        {SSL_R_HTTPS_PROXY_REQUEST, HandshakeFailure::HttpRequest},
        {SSL_R_UNSUPPORTED_PROTOCOL, HandshakeFailure::ProtocolVersion},
        {SSL_R_NO_SHARED_CIPHER, HandshakeFailure::NoSharedCipher},
        {SSL_R_NO_SHARED_GROUP, HandshakeFailure::NoSharedCipher},
        {SSL_R_TLSV1_ALERT_UNKNOWN_CA, HandshakeFailure::PeerAlert},
        {SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE, HandshakeFailure::PeerAlert},
        {SSL_R_TLSV1_ALERT_CERTIFICATE_REQUIRED, HandshakeFailure::PeerAlert},
        {SSL_R_DECODE_ERROR, HandshakeFailure::ProtocolError},
        {SSL_R_WRONG_VERSION_NUMBER, HandshakeFailure::ProtocolError},
    };
    for (const Case& c : cases) {
      CAPTURE(c.ssl_reason);
      CHECK(classifySslReason(c.ssl_reason) == c.reason);
    }
  }

  TEST_CASE("verify error wins over error code") {
    ConnectionTlsInfo info;
    info.verify_error = X509_V_ERR_CERT_HAS_EXPIRED;

    HandshakeFailure reason =
        classifyFailure(info, ERR_PACK(ERR_LIB_SSL, SSL_R_CERTIFICATE_VERIFY_FAILED));

    CHECK(reason == HandshakeFailure::Expired);
  }

  TEST_CASE("non-SSL or no error is protocol_error") {
    ConnectionTlsInfo info;

    CHECK(classifyFailure(info, 0) == HandshakeFailure::ProtocolError);
    CHECK(classifyFailure(info, ERR_PACK(ERR_LIB_X509, X509_R_CERT_ALREADY_IN_HASH_TABLE)) ==
          HandshakeFailure::ProtocolError);
    CHECK(classifyFailure(info, ERR_PACK(ERR_LIB_SYS, SSL_R_HTTP_REQUEST)) ==
          HandshakeFailure::ProtocolError);
  }
}

TEST_SUITE("tls.reasonName") {
  TEST_CASE("reason names match logs") {
    struct Case {
      HandshakeFailure reason;
      std::string name;
    };
    const Case cases[] = {
        {HandshakeFailure::NoCertificate, "no_certificate"},
        {HandshakeFailure::Expired, "expired"},
        {HandshakeFailure::NotYetValid, "not_yet_valid"},
        {HandshakeFailure::UnknownCa, "unknown_ca"},
        {HandshakeFailure::Revoked, "revoked"},
        {HandshakeFailure::CrlExpired, "crl_expired"},
        {HandshakeFailure::CrlNotYetValid, "crl_not_yet_valid"},
        {HandshakeFailure::BadPurpose, "bad_purpose"},
        {HandshakeFailure::BadCertificate, "bad_certificate"},
        {HandshakeFailure::ProtocolVersion, "protocol_version"},
        {HandshakeFailure::NoSharedCipher, "no_shared_cipher"},
        {HandshakeFailure::HttpRequest, "http_request"},
        {HandshakeFailure::PeerAlert, "peer_alert"},
        {HandshakeFailure::HandshakeTimeout, "handshake_timeout"},
        {HandshakeFailure::Eof, "eof"},
        {HandshakeFailure::ProtocolError, "protocol_error"},
    };
    std::set<std::string> seen;
    for (const Case& c : cases) {
      CAPTURE(c.name);
      CHECK(std::string(reasonName(c.reason)) == c.name);
      CHECK(seen.insert(c.name).second);
    }
  }
}
