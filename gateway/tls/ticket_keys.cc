#include "gateway/tls/ticket_keys.h"

#include <array>
#include <fstream>
#include <vector>

#include <openssl/aes.h>
#include <openssl/cipher.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/rand.h>

#include "gateway/common/ascii.h"

namespace gw::tls {
namespace {

struct TicketKey {
  std::array<uint8_t, 16> name;
  std::array<uint8_t, 16> hmac_secret;
  std::array<uint8_t, 16> aes_key;
};

using TicketKeys = std::vector<TicketKey>;

int g_keys_index = -1;

void freeKeys(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  auto* keys = static_cast<TicketKeys*>(ptr);
  if (keys != nullptr) {
    for (TicketKey& key : *keys) {
      OPENSSL_cleanse(&key, sizeof(key));
    }
    delete keys;
  }
}

bool parseKey(const std::string& line, TicketKey* out) {
  if (line.size() != 96) {
    return false;
  }
  uint8_t bytes[48];
  for (size_t i = 0; i < 48; i++) {
    int high = ascii::hexValue(line[2 * i]);
    int low = ascii::hexValue(line[2 * i + 1]);
    if (high < 0 || low < 0) {
      return false;
    }
    bytes[i] = static_cast<uint8_t>(high * 16 + low);
  }
  std::copy(bytes, bytes + 16, out->name.begin());
  std::copy(bytes + 16, bytes + 32, out->hmac_secret.begin());
  std::copy(bytes + 32, bytes + 48, out->aes_key.begin());
  OPENSSL_cleanse(bytes, sizeof(bytes));
  return true;
}

int onTicketKey(SSL* ssl, uint8_t* key_name, uint8_t* iv, EVP_CIPHER_CTX* cipher_ctx,
                HMAC_CTX* hmac_ctx, int encrypt) {
  auto* keys = static_cast<TicketKeys*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), g_keys_index));
  if (keys == nullptr || keys->empty()) {
    return encrypt ? -1 : 0;
  }
  if (encrypt) {
    const TicketKey& key = keys->front();
    std::copy(key.name.begin(), key.name.end(), key_name);
    if (!RAND_bytes(iv, AES_BLOCK_SIZE) ||
        !EVP_EncryptInit_ex(cipher_ctx, EVP_aes_128_cbc(), nullptr, key.aes_key.data(), iv) ||
        !HMAC_Init_ex(hmac_ctx, key.hmac_secret.data(), key.hmac_secret.size(), EVP_sha256(),
                      nullptr)) {
      return -1;
    }
    return 1;
  }
  for (size_t i = 0; i < keys->size(); i++) {
    const TicketKey& key = (*keys)[i];
    if (!std::equal(key.name.begin(), key.name.end(), key_name)) {
      continue;
    }
    if (!EVP_DecryptInit_ex(cipher_ctx, EVP_aes_128_cbc(), nullptr, key.aes_key.data(), iv) ||
        !HMAC_Init_ex(hmac_ctx, key.hmac_secret.data(), key.hmac_secret.size(), EVP_sha256(),
                      nullptr)) {
      return -1;
    }
    // A ticket under an older key is accepted and replaced by a new one.
    return i == 0 ? 1 : 2;
  }
  return 0;  // unknown key: full handshake
}

}  // namespace

Status installTicketKeys(SSL_CTX* ctx, const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    return Error{"ticket key file " + path + " cannot be read"};
  }
  auto keys = std::make_unique<TicketKeys>();
  std::string line;
  int number = 0;
  while (std::getline(file, line)) {
    number++;
    if (line.empty() || line[0] == '#') {
      continue;
    }
    TicketKey key;
    if (!parseKey(line, &key)) {
      return Error{"ticket key file " + path + ":" + std::to_string(number) +
                   ": expected 96 hex digits (48 random bytes) per line"};
    }
    keys->push_back(key);
  }
  if (keys->empty()) {
    return Error{"ticket key file " + path + " contains no key"};
  }
  if (g_keys_index < 0) {
    g_keys_index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, freeKeys);
  }
  SSL_CTX_set_ex_data(ctx, g_keys_index, keys.release());  // freed by freeKeys with the ctx
  SSL_CTX_set_tlsext_ticket_key_cb(ctx, onTicketKey);
  return okStatus();
}

}  // namespace gw::tls
