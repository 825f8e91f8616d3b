// Session ticket keys shared between gateway instances.
//
// Behind an L4 load balancer, a client that resumes on another instance
// than the one that issued its ticket gets a full handshake unless every
// instance encrypts tickets with the same keys. The key file holds one key
// per line, 96 hex digits each (16 bytes key name, 16 bytes HMAC-SHA256
// secret, 16 bytes AES-128 key), for example from
//   head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n'
// The first line encrypts new tickets; every line decrypts, so a new key
// can be added on top, reloaded everywhere, and the old one removed later.
#pragma once

#include <string>

#include <openssl/ssl.h>

#include "gateway/common/result.h"

namespace gw::tls {

// installTicketKeys reads |path| and makes |ctx| encrypt and decrypt
// session tickets with its keys. The error names the file and line.
Status installTicketKeys(SSL_CTX* ctx, const std::string& path);

}  // namespace gw::tls
