#include "gateway/proxy/runtime.h"

#include <arpa/inet.h>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <netdb.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <uv.h>

#include "gateway/common/log.h"
#include "gateway/tls/peer_identity.h"
#include "gateway/tls/tls_context.h"

namespace gw::proxy {
namespace {

Result<UpstreamAddress> resolve(const std::string& name, const config::ListenAddress& target) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port = std::to_string(target.port);
  int rc = getaddrinfo(target.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    return Error{"upstream '" + name + "': cannot resolve host '" + target.host +
                 "': " + gai_strerror(rc)};
  }
  UpstreamAddress result;
  result.name = name;
  memset(&result.address, 0, sizeof(result.address));
  memcpy(&result.address, found->ai_addr, found->ai_addrlen);
  freeaddrinfo(found);
  result.display = formatAddress(reinterpret_cast<const sockaddr*>(&result.address));
  return result;
}

// readPem reads every object of one PEM type from |path| with |read|. An
// unreadable file gives an empty list; the context builder reports it.
template <typename T, typename Read>
std::vector<bssl::UniquePtr<T>> readPem(const std::string& path, Read read) {
  std::vector<bssl::UniquePtr<T>> out;
  bssl::UniquePtr<BIO> bio(BIO_new_file(path.c_str(), "r"));
  if (bio) {
    while (T* object = read(bio.get(), nullptr, nullptr, nullptr)) {
      out.emplace_back(object);
    }
  }
  ERR_clear_error();
  return out;
}

std::string subjectOf(X509* cert) {
  return tls::nameToString(X509_get_subject_name(cert));
}

// TlsFileCheck is the result of checkTlsFiles.
struct TlsFileCheck {
  std::vector<std::string> errors;
  std::vector<ConfigWarning> warnings;
  std::vector<tls::CertificateExpiry> crl_expiries;
};

void checkNotDirectory(const std::string& file, const std::string& setting, TlsFileCheck* out) {
  std::error_code ec;
  if (!file.empty() && std::filesystem::is_directory(file, ec)) {
    out->errors.push_back(setting + " " + file + " is a directory; name a PEM file");
  }
}

void checkPrivateMode(const std::string& file, const std::string& what, TlsFileCheck* out) {
  struct stat info;
  if (file.empty() || stat(file.c_str(), &info) != 0 || (info.st_mode & 077) == 0) {
    return;
  }
  char mode[8];
  snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(info.st_mode & 07777));
  out->warnings.push_back({file, what + " file has mode " + mode + ", readable by group or others",
                           "chmod 600 " + file});
}

void checkCaFile(const std::string& file, const std::string& setting, TlsFileCheck* out) {
  for (auto& cert : readPem<X509>(file, PEM_read_bio_X509)) {
    if (X509_check_ca(cert.get()) == 0) {
      out->errors.push_back(setting + " " + file + " contains " + subjectOf(cert.get()) +
                            ", which is not a CA certificate (basicConstraints CA:FALSE or "
                            "missing); name the CA certificate that issued the client "
                            "certificates");
    }
  }
}

void checkServerCertificate(const std::string& file, int64_t now, TlsFileCheck* out) {
  auto certs = readPem<X509>(file, PEM_read_bio_X509);
  if (certs.empty()) {
    return;
  }
  X509* leaf = certs[0].get();
  std::string subject = subjectOf(leaf);
  int64_t not_before = 0;
  int64_t not_after = 0;
  if (tls::posixTimeOf(X509_get0_notAfter(leaf), &not_after) && not_after <= now) {
    out->errors.push_back("[tls] cert " + file + ": certificate " + subject + " expired at " +
                          tls::timeText(X509_get0_notAfter(leaf)) +
                          "; renew it (certgate pki issue) and reload");
  }
  if (tls::posixTimeOf(X509_get0_notBefore(leaf), &not_before) && not_before > now) {
    out->errors.push_back("[tls] cert " + file + ": certificate " + subject +
                          " is not valid before " + tls::timeText(X509_get0_notBefore(leaf)) +
                          "; check the system clock or reissue it");
  }
  if ((X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) != 0 &&
      (X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER) == 0) {
    out->errors.push_back("[tls] cert " + file + ": certificate " + subject +
                          " has an extended key usage without serverAuth, so TLS clients "
                          "reject it; reissue it for server use (certgate pki issue)");
  }
}

void checkCrlFile(const std::string& file, int64_t now, TlsFileCheck* out) {
  for (auto& crl : readPem<X509_CRL>(file, PEM_read_bio_X509_CRL)) {
    std::string issuer = tls::nameToString(X509_CRL_get_issuer(crl.get()));
    int64_t last_update = 0;
    int64_t next_update = 0;
    const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get());
    if (next != nullptr && tls::posixTimeOf(next, &next_update)) {
      out->crl_expiries.push_back({"crl", issuer, tls::timeText(next)});
      if (next_update <= now) {
        out->warnings.push_back(
            {file,
             "CRL from " + issuer + " expired at its nextUpdate " + tls::timeText(next) +
                 "; every client certificate from this issuer is rejected (verify error 12, "
                 "reason crl_expired)",
             "issue a new CRL with certgate pki crl (or have the CA reissue it), then reload"});
      }
    }
    if (tls::posixTimeOf(X509_CRL_get0_lastUpdate(crl.get()), &last_update) && last_update > now) {
      out->warnings.push_back({file,
                               "CRL from " + issuer + " is not valid before its lastUpdate " +
                                   tls::timeText(X509_CRL_get0_lastUpdate(crl.get())) +
                                   "; every client certificate from this issuer is rejected",
                               "check the system clock or reissue the CRL"});
    }
  }
}

TlsFileCheck checkTlsFiles(const config::GatewayConfig& config) {
  TlsFileCheck out;
  const config::TlsConfig& tls = config.tls;
  int64_t now = static_cast<int64_t>(time(nullptr));
  std::pair<const std::string*, const char*> files[] = {
      {&tls.cert_file, "[tls] cert"},   {&tls.key_file, "[tls] key"},
      {&tls.chain_file, "[tls] chain"}, {&tls.client_ca_file, "[tls] client_ca"},
      {&tls.crl_file, "[tls] crl"},     {&tls.ticket_key_file, "[tls] ticket_key_file"},
  };
  for (const auto& [file, setting] : files) {
    checkNotDirectory(*file, setting, &out);
  }
  for (const config::RouteConfig& route : config.policy.routes) {
    checkNotDirectory(route.client_ca_file, "route at " + route.source + ": client_ca", &out);
    checkNotDirectory(route.crl_file, "route at " + route.source + ": crl", &out);
  }
  if (!out.errors.empty()) {
    return out;
  }
  checkPrivateMode(tls.key_file, "private key", &out);
  checkPrivateMode(tls.ticket_key_file, "ticket key", &out);
  checkCaFile(tls.client_ca_file, "[tls] client_ca", &out);
  checkServerCertificate(tls.cert_file, now, &out);
  if (!tls.crl_file.empty()) {
    checkCrlFile(tls.crl_file, now, &out);
  }
  for (const config::RouteConfig& route : config.policy.routes) {
    if (!route.client_ca_file.empty()) {
      checkCaFile(route.client_ca_file, "route at " + route.source + ": client_ca", &out);
    }
    if (!route.crl_file.empty()) {
      checkCrlFile(route.crl_file, now, &out);
    }
  }
  return out;
}

}  // namespace

void logConfigWarnings(const Runtime& runtime) {
  for (const ConfigWarning& warning : runtime.warnings) {
    log::warn("config.warning",
              {{"file", warning.file}, {"problem", warning.problem}, {"fix", warning.fix}});
  }
}

int toSockaddr(const config::ListenAddress& address, sockaddr_storage* out) {
  if (address.host.find(':') != std::string::npos) {
    return uv_ip6_addr(address.host.c_str(), address.port, reinterpret_cast<sockaddr_in6*>(out));
  }
  std::string host = address.host == "localhost" ? "127.0.0.1" : address.host;
  return uv_ip4_addr(host.c_str(), address.port, reinterpret_cast<sockaddr_in*>(out));
}

std::string listenAddressText(const config::ListenAddress& address) {
  std::string port = std::to_string(address.port);
  if (address.host.find(':') != std::string::npos) {
    return "[" + address.host + "]:" + port;
  }
  return address.host + ":" + port;
}

std::string formatAddress(const sockaddr* address) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (address->sa_family == AF_INET) {
    auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
    return std::string(host) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  if (address->sa_family == AF_INET6) {
    auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(v6->sin6_port));
  }
  return "?";
}

Result<std::shared_ptr<const Runtime>> buildRuntime(config::GatewayConfig config) {
  TlsFileCheck check = checkTlsFiles(config);
  if (!check.errors.empty()) {
    std::string message;
    for (const std::string& error : check.errors) {
      message += (message.empty() ? "" : "\n") + error;
    }
    return Error{message};
  }
  auto tls = tls::createServerContext(config.tls);
  if (!tls) {
    return Error{tls.error()};
  }
  std::map<std::string, Upstream> upstreams;
  for (const config::UpstreamConfig& config_upstream : config.policy.upstreams) {
    Upstream& upstream = upstreams[config_upstream.name];
    upstream.name = config_upstream.name;
    std::vector<config::ListenAddress> targets = config_upstream.addresses;
    if (targets.empty()) {
      targets.push_back({config_upstream.host, config_upstream.port});
    }
    for (const config::ListenAddress& target : targets) {
      auto address = resolve(config_upstream.name, target);
      if (!address) {
        return Error{address.error()};
      }
      upstream.display += (upstream.display.empty() ? "" : ", ") + address->display;
      upstream.addresses.push_back(std::move(*address));
    }
  }
  std::map<std::string, std::unique_ptr<const tls::ClientTrust>> route_trust;
  for (const config::RouteConfig& route : config.policy.routes) {
    if (route.client_ca_file.empty()) {
      continue;
    }
    auto trust = tls::loadRouteTrust(route.client_ca_file, route.crl_file);
    if (!trust) {
      return Error{"route at " + route.source + ": " + trust.error()};
    }
    route_trust[route.source] = std::move(*trust);
  }
  auto runtime = std::make_shared<Runtime>(std::move(config), std::move(*tls));
  runtime->route_trust = std::move(route_trust);
  runtime->upstreams = std::move(upstreams);
  runtime->expiries = tls::certificateExpiries(runtime->config.tls);
  runtime->expiries.insert(runtime->expiries.end(), check.crl_expiries.begin(),
                           check.crl_expiries.end());
  runtime->warnings = std::move(check.warnings);
  return std::shared_ptr<const Runtime>(std::move(runtime));
}

}  // namespace gw::proxy
