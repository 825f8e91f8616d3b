#include "gateway/pki/client_auth_check.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "gateway/pki/boringssl_error.h"
#include "gateway/pki/certificate.h"
#include "gateway/pki/name.h"
#include "gateway/pki/rfc3339.h"

namespace gw::pki {
namespace {

std::string subjectOf(X509* certificate) {
  return certificate ? formatNameRfc4514(X509_get_subject_name(certificate)) : "(unknown)";
}

std::string timeOf(const ASN1_TIME* time) {
  Result<int64_t> seconds = asn1TimeToUnix(time);
  return seconds.ok() ? formatRfc3339Utc(*seconds) : "(undecodable time)";
}

// explainVerifyError turns the verify error of a failed chain into a reason
// that starts with its category. |current| is the certificate the error is
// about, if BoringSSL recorded one.
std::string explainVerifyError(int error, X509* current) {
  switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "expired: " + subjectOf(current) + " was valid until " +
             timeOf(X509_get0_notAfter(current));
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "not yet valid: " + subjectOf(current) + " is valid from " +
             timeOf(X509_get0_notBefore(current));
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return "unknown CA: the CA bundle has no issuer of " + subjectOf(current) + " (issuer " +
             (current ? formatNameRfc4514(X509_get_issuer_name(current)) : "unknown") + ")";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return "unknown CA: the chain ends in " + subjectOf(current) +
             ", which is not in the CA bundle";
    case X509_V_ERR_INVALID_PURPOSE:
      return "wrong purpose: " + subjectOf(current) +
             " is not valid for TLS client authentication (check its extended key usage "
             "for clientAuth and its key usage for digitalSignature)";
    case X509_V_ERR_CERT_REVOKED:
      return "revoked: " + subjectOf(current) + " is listed in the CRL";
    case X509_V_ERR_UNABLE_TO_GET_CRL:
      return "no CRL: none of the CRLs given is from the issuer of " + subjectOf(current);
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return "bad signature: the signature on " + subjectOf(current) + " does not verify";
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
      return "invalid CA: " + subjectOf(current) + " may not issue this certificate";
    default:
      return "rejected: " + subjectOf(current);
  }
}

}  // namespace

ClientAuthVerdict verifyForClientAuth(X509* leaf, const std::vector<X509*>& untrusted,
                                      const std::vector<X509*>& trusted,
                                      const std::vector<X509_CRL*>& crls, int64_t now) {
  ClientAuthVerdict verdict;
  bssl::UniquePtr<X509_STORE> store(X509_STORE_new());
  bssl::UniquePtr<STACK_OF(X509)> chain(sk_X509_new_null());
  bssl::UniquePtr<X509_STORE_CTX> context(X509_STORE_CTX_new());
  bool ok = store && chain && context;
  for (X509* certificate : trusted) {
    ok = ok && X509_STORE_add_cert(store.get(), certificate);
  }
  for (X509_CRL* crl : crls) {
    ok = ok && X509_STORE_add_crl(store.get(), crl);
  }
  for (X509* certificate : untrusted) {
    // sk_X509_push takes the reference only on success.
    bssl::UniquePtr<X509> reference = bssl::UpRef(certificate);
    ok = ok && sk_X509_push(chain.get(), reference.get());
    if (ok) {
      reference.release();
    }
  }
  if (!ok || !X509_STORE_CTX_init(context.get(), store.get(), leaf, chain.get())) {
    verdict.reason = boringSslError("cannot set up certificate verification").message;
    return verdict;
  }
  X509_STORE_CTX_set_purpose(context.get(), X509_PURPOSE_SSL_CLIENT);
  X509_STORE_CTX_set_time(context.get(), 0, static_cast<time_t>(now));
  if (!crls.empty()) {
    X509_STORE_CTX_set_flags(context.get(), X509_V_FLAG_CRL_CHECK);
  }
  verdict.accepted = X509_verify_cert(context.get()) == 1;
  ERR_clear_error();
  if (verdict.accepted) {
    return verdict;
  }
  verdict.verifyError = X509_STORE_CTX_get_error(context.get());
  X509* current = X509_STORE_CTX_get_current_cert(context.get());
  verdict.reason = explainVerifyError(verdict.verifyError, current) + " (verify error " +
                   std::to_string(verdict.verifyError) + ": " +
                   X509_verify_cert_error_string(verdict.verifyError) + ")";
  return verdict;
}

}  // namespace gw::pki
