// Header rewriting between the client and the upstream.
//
// Requests lose every hop-by-hop header and every identity header the
// client sent, then gain the gateway's identity headers. The identity set is
// every header whose name starts with "X-Client-", "Client-Cert" (RFC 9440)
// and every name the route configures, once letter case is ignored and '_'
// is read as '-', because many frameworks (CGI, PHP, WSGI, nginx with
// underscores_in_headers) treat "X_Client_CN" as "X-Client-CN".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gateway/http/message.h"
#include "gateway/policy/policy.h"

namespace gw::http {

inline constexpr std::string_view kClientCnHeader = "X-Client-CN";
inline constexpr std::string_view kClientSubjectHeader = "X-Client-Subject";
inline constexpr std::string_view kClientIssuerHeader = "X-Client-Issuer";
inline constexpr std::string_view kClientSerialHeader = "X-Client-Serial";
inline constexpr std::string_view kClientFingerprintHeader = "X-Client-Cert-Sha256";

// isIdentityHeader reports whether a client-sent header named |name| must be
// removed because it could be mistaken for one the gateway sets.
bool isIdentityHeader(std::string_view name);

// encodeIdentityValue percent-encodes one certificate value for an
// identity header: '%', '"', ',', '\\', bytes outside 0x20-0x7E and a space
// at the start or end become %XX (uppercase hex). No certificate content can
// then end a header line, add a header, split a list entry or be trimmed
// away as whitespace.
std::string encodeIdentityValue(std::string_view value);

// encodeDistinguishedName converts an RFC 4514 string, as nameToString
// prints it, to the identity header form: the ',' and '+' that separate
// attributes stay, and every character RFC 4514 escapes with a backslash
// becomes %XX, as do the bytes encodeIdentityValue encodes.
std::string encodeDistinguishedName(std::string_view rfc4514);

// ForwardedFor describes the client connection for X-Forwarded-* headers.
struct ForwardedFor {
  std::string client_ip;
};

// buildUpstreamRequestHead serializes the head sent to the upstream: the
// client's method and target, HTTP/1.1, the client's end-to-end headers, the
// framing header of the body as the gateway sends it, X-Forwarded-For and
// X-Forwarded-Proto (client copies replaced), and the identity headers.
std::string buildUpstreamRequestHead(const MessageHead& request, const policy::Identity& identity,
                                     const ForwardedFor& forwarded,
                                     const config::IdentityHeaderNames& names);
std::string buildUpstreamRequestHead(const MessageHead& request, const policy::Identity& identity,
                                     const ForwardedFor& forwarded);

// buildConnectionHeaders serializes the header lines of an upstream request
// that depend only on the client connection and the route's header names:
// X-Forwarded-For, X-Forwarded-Proto, Forwarded, the identity headers and
// the RFC 9440 certificate headers. A connection builds them once per route
// and passes them to appendUpstreamRequestHead for each request.
std::string buildConnectionHeaders(const policy::Identity& identity, const ForwardedFor& forwarded,
                                   const config::IdentityHeaderNames& names);

// appendUpstreamRequestHead appends the head that buildUpstreamRequestHead
// returns to |out|, with |connection_headers| from buildConnectionHeaders.
// Client headers named in |identity_names| are removed as well as the
// X-Client-* and Client-Cert ones: pass Policy::identityHeaderNames(), the
// names of every route, not only those of the request's route.
void appendUpstreamRequestHead(std::string* out, const MessageHead& request,
                               const std::vector<std::string>& identity_names,
                               std::string_view connection_headers);

// identityHeaderNameList returns the non-empty names in |names|.
std::vector<std::string> identityHeaderNameList(const config::IdentityHeaderNames& names);

// sanList renders the SANs as "DNS:a, URI:spiffe://x, email:e, IP:1.2.3.4",
// each value encoded by encodeIdentityValue, so every ',' separates entries.
std::string sanList(const policy::Identity& identity);

// isConfiguredIdentityHeader reports whether |name| equals one of |names|
// (ignoring case, '_' read as '-').
bool isConfiguredIdentityHeader(std::string_view name, const std::vector<std::string>& names);

// ResponseFraming is how the gateway frames a response body it relays.
enum class ResponseFraming {
  None,           // no body (HEAD, 1xx, 204, 304)
  ContentLength,  // as the upstream sent it
  Chunked,        // chunked encoding, re-chunked by the gateway
  UntilClose,     // the body ends when the gateway closes the connection
};

// buildClientResponseHead serializes the head sent to the client and
// chooses the framing. |request_is_head| and the status decide whether there
// is a body; a body without a length is chunked for HTTP/1.1 clients and
// delimited by closing for HTTP/1.0 clients. |close| adds "Connection: close".
std::string buildClientResponseHead(const MessageHead& response, bool request_is_head,
                                    int client_version_minor, bool close,
                                    ResponseFraming* out_framing);

// appendClientResponseHead appends the head that buildClientResponseHead
// returns to |out|, so that a caller can reuse one buffer.
void appendClientResponseHead(std::string* out, const MessageHead& response, bool request_is_head,
                              int client_version_minor, bool close, ResponseFraming* out_framing);

// encodeChunk frames |data| as one chunk of a chunked body. Empty data gives
// an empty string: the last chunk is kLastChunk.
std::string encodeChunk(std::string_view data);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// buildLastChunk serializes the end of a chunked body with |trailers|.
// Trailer fields that would change framing, routing or identity
// (Content-Length, Transfer-Encoding, Host, hop-by-hop and identity
// headers) are dropped.
std::string buildLastChunk(const std::vector<Header>& trailers);

// buildLocalReply serializes a complete response generated by the gateway
// itself (403, 404, 502 ...) with a text/plain body.
std::string buildLocalReply(int status, std::string_view body, bool close);

}  // namespace gw::http
