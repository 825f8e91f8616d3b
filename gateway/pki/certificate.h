// X.509 v3 certificates: serial numbers, building and signing a certificate
// for one of the four profiles this CA issues, and PEM input and output.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/bn.h>
#include <openssl/x509.h>

#include "gateway/common/result.h"
#include "gateway/pki/file_io.h"
#include "gateway/pki/subject_alt_name.h"

namespace gw::pki {

// CertificateProfile selects the extensions of a new certificate.
//
//   RootCa          basicConstraints critical CA:TRUE; keyUsage critical
//                   keyCertSign, cRLSign; subjectKeyIdentifier.
//   IntermediateCa  as RootCa with pathLenConstraint 0, plus
//                   authorityKeyIdentifier.
//   Server, Client  basicConstraints critical CA:FALSE. keyUsage critical
//                   digitalSignature, plus keyEncipherment for an RSA server
//                   key because TLS 1.2 RSA key exchange needs it.
//                   extendedKeyUsage serverAuth or clientAuth. Both key
//                   identifiers. subjectAltName when the request has entries.
enum class CertificateProfile { RootCa, IntermediateCa, Server, Client };

// Validity is a certificate's validity period in seconds since the Unix epoch.
struct Validity {
  int64_t notBefore = 0;
  int64_t notAfter = 0;
};

// CertificateRequest is what the CA puts into a certificate besides the
// public key and the issuer.
struct CertificateRequest {
  CertificateProfile profile = CertificateProfile::Client;
  std::string commonName;
  std::string organizationalUnit;  // Omitted from the subject when empty.
  std::vector<SubjectAltName> subjectAltNames;
  Validity validity;
};

// Issuer is a borrowed CA certificate and its private key. A null
// |certificate| means self-signed: |key| must then be the subject key.
struct Issuer {
  const X509* certificate = nullptr;
  EVP_PKEY* key = nullptr;
};

// kClockSkewSeconds is how far notBefore is set before the current time for a
// new certificate, so that a peer whose clock runs a few minutes behind
// already accepts it.
inline constexpr int64_t kClockSkewSeconds = 300;

// generateSerial returns a random serial number of exactly 128 bits: bit 127
// is set and the 127 bits below it come from the system CSPRNG. The value is
// positive and its DER encoding (17 bytes) is within the 20 octets RFC 5280
// allows. The caller owns the result.
Result<bssl::UniquePtr<BIGNUM>> generateSerial();

// issueCertificate builds an X.509 v3 certificate for |subjectKey| as
// |request| describes, with a fresh serial from generateSerial, and signs it
// with |issuer| (ECDSA or RSA with SHA-256, or Ed25519). It fails if the
// validity period is empty or a value cannot be encoded. The caller owns the
// certificate; |subjectKey| and |issuer| stay borrowed.
Result<bssl::UniquePtr<X509>> issueCertificate(const CertificateRequest& request,
                                               EVP_PKEY* subjectKey, const Issuer& issuer);

// encodeCertificatePem returns |certificate| as a PEM block.
Result<std::string> encodeCertificatePem(const X509* certificate);

// writeCertificateFile writes |certificates| to |path| as concatenated PEM
// blocks with mode 0644 (see writeFile for |overwrite|).
Status writeCertificateFile(const std::string& path, const std::vector<const X509*>& certificates,
                            Overwrite overwrite);

// parseCertificatesPem returns every CERTIFICATE block of |pem| in order. It
// fails, naming |source|, when there is none or one is malformed.
Result<std::vector<bssl::UniquePtr<X509>>> parseCertificatesPem(std::string_view pem,
                                                                std::string_view source);

// readCertificatesFile is parseCertificatesPem on the content of |path|.
Result<std::vector<bssl::UniquePtr<X509>>> readCertificatesFile(const std::string& path);

// serialHexOf returns the serial number of |certificate| in uppercase
// hexadecimal without leading zeros, the form the CA record uses.
std::string serialHexOf(const X509* certificate);

// asn1TimeToUnix converts |time| to seconds since the Unix epoch.
Result<int64_t> asn1TimeToUnix(const ASN1_TIME* time);

// certificateMatchesKey returns whether |key| is the private key of
// |certificate|'s public key.
bool certificateMatchesKey(const X509* certificate, const EVP_PKEY* key);

}  // namespace gw::pki
