#include "gateway/config/load.h"

#include <arpa/inet.h>
#include <charconv>
#include <filesystem>
#include <map>
#include <set>

#include <toml++/toml.h>

#include "gateway/common/ascii.h"

namespace gw::config {
namespace {

namespace fs = std::filesystem;

// Reader wraps one parsed TOML file and collects errors that name the file,
// line and column of the offending node.
class Reader {
 public:
  Reader(std::string file, std::vector<std::string>* errors)
      : file_(std::move(file)), errors_(errors) {}

  const std::string& file() const { return file_; }

  void fail(const toml::node* node, const std::string& message) {
    std::string where = file_;
    if (node != nullptr && node->source().begin.line != 0) {
      where += ":" + std::to_string(node->source().begin.line) + ":" +
               std::to_string(node->source().begin.column);
    }
    errors_->push_back(where + ": " + message);
  }

  // rejectUnknownKeys reports every key of |table| not in |known|, because
  // a misspelt key would otherwise be silently ignored.
  void rejectUnknownKeys(const toml::table& table, const std::string& table_name,
                         std::initializer_list<std::string_view> known) {
    for (const auto& [key, value] : table) {
      bool found = false;
      for (std::string_view name : known) {
        found = found || key.str() == name;
      }
      if (!found) {
        std::string expected;
        for (std::string_view name : known) {
          expected += expected.empty() ? "" : ", ";
          expected += name;
        }
        fail(&value, "unknown key '" + std::string(key.str()) + "' in " + table_name +
                         " (expected one of: " + expected + ")");
      }
    }
  }

  const toml::table* table(const toml::table& parent, std::string_view key, bool required) {
    const toml::node* node = parent.get(key);
    if (node == nullptr) {
      if (required) {
        fail(nullptr, "missing table [" + std::string(key) + "]");
      }
      return nullptr;
    }
    if (!node->is_table()) {
      fail(node, "'" + std::string(key) + "' must be a table");
      return nullptr;
    }
    return node->as_table();
  }

  bool string(const toml::table& parent, std::string_view key, std::string* out, bool required) {
    const toml::node* node = parent.get(key);
    if (node == nullptr) {
      if (required) {
        fail(&parent, "missing key '" + std::string(key) + "'");
      }
      return false;
    }
    if (!node->is_string()) {
      fail(node, "'" + std::string(key) + "' must be a string, for example " + std::string(key) +
                     " = \"...\"");
      return false;
    }
    *out = node->as_string()->get();
    return true;
  }

  void path(const toml::table& parent, std::string_view key, std::string* out, bool required) {
    if (string(parent, key, out, required) && !out->empty()) {
      *out = resolve(*out);
    }
  }

  std::string resolve(const std::string& path) const {
    fs::path p(path);
    if (p.is_absolute()) {
      return path;
    }
    return (fs::path(file_).parent_path() / p).lexically_normal().string();
  }

  void milliseconds(const toml::table& parent, std::string_view key, uint32_t* out) {
    unsignedInteger(parent, key, out, 1, 24u * 3600u * 1000u);
  }

  void unsignedInteger(const toml::table& parent, std::string_view key, uint32_t* out, int64_t min,
                       int64_t max) {
    const toml::node* node = parent.get(key);
    if (node == nullptr) {
      return;
    }
    if (!node->is_integer()) {
      fail(node, "'" + std::string(key) + "' must be an integer");
      return;
    }
    int64_t value = node->as_integer()->get();
    if (value < min || value > max) {
      fail(node, "'" + std::string(key) + "' is " + std::to_string(value) +
                     "; it must be between " + std::to_string(min) + " and " + std::to_string(max));
      return;
    }
    *out = static_cast<uint32_t>(value);
  }

  // stringArray reads an array of strings. |example| is one valid element,
  // shown in the error for a value of the wrong type.
  bool stringArray(const toml::table& parent, std::string_view key, std::vector<std::string>* out,
                   std::string_view example) {
    const toml::node* node = parent.get(key);
    if (node == nullptr) {
      return false;
    }
    const toml::array* array = node->as_array();
    if (array == nullptr) {
      fail(node, "'" + std::string(key) + "' must be an array of strings, for example " +
                     std::string(key) + " = [\"" + std::string(example) + "\"]");
      return false;
    }
    bool ok = true;
    for (const toml::node& element : *array) {
      if (!element.is_string()) {
        fail(&element, "'" + std::string(key) + "' must contain only strings");
        ok = false;
        continue;
      }
      out->push_back(element.as_string()->get());
    }
    return ok;
  }

 private:
  std::string file_;
  std::vector<std::string>* errors_;
};

// parseFile parses |path|. |missing_hint| completes the error for a file
// that does not exist.
std::optional<toml::table> parseFile(const std::string& path, std::vector<std::string>* errors,
                                     const std::string& missing_hint) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    errors->push_back(path + ": file not found; " + missing_hint);
    return std::nullopt;
  }
  try {
    return toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    errors->push_back(path + ":" + std::to_string(e.source().begin.line) + ":" +
                      std::to_string(e.source().begin.column) +
                      ": TOML syntax error: " + std::string(e.description()));
    return std::nullopt;
  }
}

void readUpstreams(Reader& reader, const toml::table& root, PolicyConfig* policy) {
  const toml::table* upstreams = reader.table(root, "upstreams", false);
  if (upstreams == nullptr) {
    return;
  }
  for (const auto& [name, node] : *upstreams) {
    const toml::table* table = node.as_table();
    std::string label = "[upstreams." + std::string(name.str()) + "]";
    if (table == nullptr) {
      reader.fail(&node, label + " must be a table with an 'address' or 'addresses' key");
      continue;
    }
    reader.rejectUnknownKeys(*table, label, {"address", "addresses"});
    UpstreamConfig upstream;
    upstream.name = std::string(name.str());
    std::vector<std::string> addresses;
    std::string single;
    bool has_single = reader.string(*table, "address", &single, false);
    bool has_list = reader.stringArray(*table, "addresses", &addresses, "127.0.0.1:8080");
    if (has_single) {
      addresses.insert(addresses.begin(), single);
    }
    if (table->get("address") != nullptr && table->get("addresses") != nullptr) {
      reader.fail(table, label + " has both 'address' and 'addresses'; keep one");
    } else if (addresses.empty() && (has_single || has_list || table->get("address") == nullptr)) {
      reader.fail(table, label + " needs an address, for example address = \"127.0.0.1:8080\"");
    }
    for (const std::string& address : addresses) {
      ListenAddress parsed;
      if (!parseListenAddress(address, &parsed) || parsed.port == 0) {
        const toml::node* where = table->get(has_single ? "address" : "addresses");
        reader.fail(where, "invalid upstream address '" + address +
                               "'; expected HOST:PORT, for example \"127.0.0.1:8080\"");
        continue;
      }
      upstream.addresses.push_back(parsed);
    }
    if (!upstream.addresses.empty()) {
      upstream.host = upstream.addresses[0].host;
      upstream.port = upstream.addresses[0].port;
    }
    policy->upstreams.push_back(std::move(upstream));
  }
}

bool validPathPattern(const std::string& path) {
  return !path.empty() && path[0] == '/';
}

bool isHex(std::string_view text) {
  for (char c : text) {
    if (ascii::hexValue(c) < 0) {
      return false;
    }
  }
  return true;
}

// checkRuleValue returns an error message for a value that cannot be
// matched as written, or an empty string.
std::string checkRuleValue(const std::string& field, std::string* value) {
  if (value->empty()) {
    return "'" + field + "' must not be empty";
  }
  size_t star = value->find('*');
  if (star != std::string::npos) {
    bool dns_glob = field == "dns" && value->starts_with("*.") && star == value->rfind('*');
    bool uri_glob = field == "uri" && value->ends_with("/*") && star == value->size() - 1;
    if (!dns_glob && !uri_glob) {
      return "'*' in " + field + " value '" + *value +
             "' is not allowed; globs are only a leading '*.' in dns (one label) and a "
             "trailing '/*' in uri";
    }
  }
  if (field == "fingerprint") {
    std::string hex;
    for (char c : *value) {
      if (c != ':') {
        hex += ascii::toLower(c);
      }
    }
    if (hex.size() != 64 || !isHex(hex)) {
      return "fingerprint '" + *value + "' is not a SHA-256 fingerprint (64 hex digits)";
    }
    *value = hex;
  }
  if (field == "ip") {
    // Certificates' IP SANs are compared in inet_ntop form, so the value is
    // stored in that form too ("::0001" becomes "::1").
    unsigned char address[16];
    char text[INET6_ADDRSTRLEN];
    int family = value->find(':') == std::string::npos ? AF_INET : AF_INET6;
    if (inet_pton(family, value->c_str(), address) != 1 ||
        inet_ntop(family, address, text, sizeof(text)) == nullptr) {
      return "ip '" + *value + "' is not a valid IPv4 or IPv6 address";
    }
    *value = text;
  }
  if (field == "dns" || field == "email") {
    *value = ascii::toLower(*value);
  }
  return {};
}

bool isUnreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// normalizePath returns |path| in the form request paths are matched in:
// percent-encoded unreserved characters decoded, other escapes in uppercase
// hex, empty segments ("//") collapsed and dot segments resolved.
std::string normalizePath(const std::string& path) {
  std::string decoded;
  for (size_t i = 0; i < path.size(); i++) {
    if (path[i] == '%' && i + 2 < path.size() && ascii::hexValue(path[i + 1]) >= 0 &&
        ascii::hexValue(path[i + 2]) >= 0) {
      char c = static_cast<char>(ascii::hexValue(path[i + 1]) * 16 + ascii::hexValue(path[i + 2]));
      if (isUnreserved(c)) {
        decoded += c;
      } else {
        decoded += '%';
        decoded += static_cast<char>(std::toupper(static_cast<unsigned char>(path[i + 1])));
        decoded += static_cast<char>(std::toupper(static_cast<unsigned char>(path[i + 2])));
      }
      i += 2;
      continue;
    }
    decoded += path[i];
  }
  std::vector<std::string> segments;
  size_t start = 1;
  bool trailing_slash = decoded.size() > 1 && decoded.back() == '/';
  while (start <= decoded.size()) {
    size_t end = decoded.find('/', start);
    if (end == std::string::npos) {
      end = decoded.size();
    }
    std::string segment = decoded.substr(start, end - start);
    if (segment == "..") {
      if (!segments.empty()) {
        segments.pop_back();
      }
      trailing_slash = trailing_slash || end == decoded.size();
    } else if (segment == ".") {
      trailing_slash = trailing_slash || end == decoded.size();
    } else if (!segment.empty()) {
      segments.push_back(segment);
    }
    start = end + 1;
  }
  std::string out;
  for (const std::string& segment : segments) {
    out += "/" + segment;
  }
  if (out.empty() || trailing_slash) {
    out += "/";
  }
  return out;
}

void readRules(Reader& reader, const toml::table& route, std::string_view key,
               std::vector<RuleConfig>* out) {
  const toml::node* node = route.get(key);
  if (node == nullptr) {
    return;
  }
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    reader.fail(node, "'" + std::string(key) + "' must be an array of tables, for example " +
                          std::string(key) + " = [{ cn = \"good-client\" }]");
    return;
  }
  for (const toml::node& element : *array) {
    const toml::table* table = element.as_table();
    if (table == nullptr || table->empty()) {
      reader.fail(&element, "each entry of '" + std::string(key) +
                                "' must be a non-empty table such as { cn = \"good-client\" }");
      continue;
    }
    RuleConfig rule;
    rule.source = reader.file() + ":" + std::to_string(element.source().begin.line);
    reader.rejectUnknownKeys(
        *table, std::string(key) + " rule",
        {"cn", "o", "ou", "dns", "uri", "email", "ip", "issuer", "fingerprint"});
    for (const auto& [field, value] : *table) {
      if (!value.is_string()) {
        reader.fail(&value, "rule field '" + std::string(field.str()) + "' must be a string");
        continue;
      }
      std::string text = value.as_string()->get();
      std::string name(field.str());
      if (std::string error = checkRuleValue(name, &text); !error.empty()) {
        reader.fail(&value, error);
        continue;
      }
      rule.conditions.push_back({name, text});
    }
    out->push_back(std::move(rule));
  }
}

bool isHeaderName(const std::string& name) {
  for (char c : name) {
    if (!ascii::isTokenChar(c)) {
      return false;
    }
  }
  return true;
}

// isReservedHeaderName reports whether |name| is a header that frames the
// message, is hop-by-hop, or carries routing data. Identity values in such a
// header would change how the upstream reads the request (request
// smuggling) or where it thinks the request came from.
bool isReservedHeaderName(const std::string& name) {
  static constexpr std::string_view kReserved[] = {"host",
                                                   "content-length",
                                                   "transfer-encoding",
                                                   "connection",
                                                   "keep-alive",
                                                   "proxy-connection",
                                                   "te",
                                                   "trailer",
                                                   "upgrade",
                                                   "expect",
                                                   "forwarded",
                                                   "x-forwarded-for",
                                                   "x-forwarded-proto",
                                                   "x-forwarded-host"};
  std::string lower = ascii::toLower(name);
  for (std::string_view reserved : kReserved) {
    if (lower == reserved) {
      return true;
    }
  }
  return false;
}

void readHeaderNames(Reader& reader, const toml::table& route, IdentityHeaderNames* out) {
  const toml::table* headers = reader.table(route, "headers", false);
  if (headers == nullptr) {
    return;
  }
  reader.rejectUnknownKeys(*headers, "route headers",
                           {"cn", "subject", "issuer", "serial", "fingerprint", "sans", "not_after",
                            "client_cert", "client_cert_chain"});
  std::pair<const char*, std::string*> fields[] = {
      {"cn", &out->cn},
      {"subject", &out->subject},
      {"issuer", &out->issuer},
      {"serial", &out->serial},
      {"fingerprint", &out->fingerprint},
      {"sans", &out->sans},
      {"not_after", &out->not_after},
      {"client_cert", &out->client_cert},
      {"client_cert_chain", &out->client_cert_chain},
  };
  for (auto& [key, target] : fields) {
    if (!reader.string(*headers, key, target, false)) {
      continue;
    }
    if (!isHeaderName(*target)) {
      reader.fail(headers->get(key), "header name '" + *target +
                                         "' is not a valid token; use letters, digits and '-', "
                                         "or \"\" to leave the header out");
    } else if (isReservedHeaderName(*target)) {
      reader.fail(headers->get(key), "header name '" + *target +
                                         "' is reserved for message framing, hop-by-hop or "
                                         "forwarding data and cannot carry an identity; choose "
                                         "another name such as \"X-Client-" +
                                         std::string(key) + "\", or \"\" to leave it out");
    }
  }
}

void readRoute(Reader& reader, const toml::table& table, PolicyConfig* policy) {
  RouteConfig route;
  route.source = reader.file() + ":" + std::to_string(table.source().begin.line);
  reader.rejectUnknownKeys(table, "[[routes]]",
                           {"host", "prefix", "exact", "upstream", "allow_cn", "allow", "deny",
                            "headers", "public", "client_ca", "crl"});
  readHeaderNames(reader, table, &route.headers);
  if (const toml::node* node = table.get("public")) {
    if (!node->is_boolean()) {
      reader.fail(node, "'public' must be true or false");
    } else {
      route.is_public = node->as_boolean()->get();
    }
  }
  reader.path(table, "client_ca", &route.client_ca_file, false);
  reader.path(table, "crl", &route.crl_file, false);
  if (reader.string(table, "host", &route.host, false)) {
    route.host = ascii::toLower(route.host);
  }
  bool has_prefix = reader.string(table, "prefix", &route.prefix, false);
  bool has_exact = reader.string(table, "exact", &route.exact, false);
  if (has_prefix == has_exact) {
    reader.fail(&table,
                "a route needs exactly one of 'prefix' or 'exact', for example "
                "prefix = \"/secret\"");
  } else if (const std::string& path = has_prefix ? route.prefix : route.exact;
             !validPathPattern(path)) {
    reader.fail(table.get(has_prefix ? "prefix" : "exact"), "a route path must start with '/'");
  } else if (std::string normal = normalizePath(path); normal != path) {
    reader.fail(table.get(has_prefix ? "prefix" : "exact"),
                "route path '" + path +
                    "' is not in normalized form, so no request path can match it (requests "
                    "are matched after normalization); write '" +
                    normal + "'");
  }
  if (reader.string(table, "upstream", &route.upstream, true)) {
    bool known = false;
    for (const UpstreamConfig& upstream : policy->upstreams) {
      known = known || upstream.name == route.upstream;
    }
    if (!known) {
      reader.fail(table.get("upstream"), "route names upstream '" + route.upstream +
                                             "', which is not defined; add [upstreams." +
                                             route.upstream + "] with an address");
    }
  }
  if (reader.stringArray(table, "allow_cn", &route.allow_cn, "good-client")) {
    for (std::string& cn : route.allow_cn) {
      if (std::string error = checkRuleValue("cn", &cn); !error.empty()) {
        reader.fail(table.get("allow_cn"), "allow_cn: " + error);
      }
    }
  }
  readRules(reader, table, "allow", &route.allow);
  readRules(reader, table, "deny", &route.deny);
  if (table.get("allow_cn") == nullptr && table.get("allow") == nullptr && !route.is_public) {
    reader.fail(&table,
                "route has no 'allow_cn' or 'allow' list; every request would be "
                "denied. Add allow_cn = [\"CLIENT-CN\"], or allow_cn = [] to deny all "
                "on purpose");
  }
  policy->routes.push_back(std::move(route));
}

}  // namespace

bool parseListenAddress(const std::string& text, ListenAddress* out_address) {
  std::string host;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return false;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) {
      return false;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc() || end != port.data() + port.size() ||
      value > 65535) {
    return false;
  }
  out_address->host = host;
  out_address->port = static_cast<uint16_t>(value);
  return true;
}

PolicyConfig loadPolicyConfig(const std::string& path, std::vector<std::string>* out_errors) {
  PolicyConfig policy;
  policy.file = path;
  std::optional<toml::table> root =
      parseFile(path, out_errors, "create it or change [policy] file in the gateway file");
  if (!root) {
    return policy;
  }
  Reader reader(path, out_errors);
  reader.rejectUnknownKeys(*root, "the policy file", {"upstreams", "routes"});
  readUpstreams(reader, *root, &policy);

  const toml::node* routes = root->get("routes");
  if (routes == nullptr) {
    reader.fail(nullptr, "no [[routes]] defined; every request would get 404");
    return policy;
  }
  const toml::array* array = routes->as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    reader.fail(routes, "'routes' must be an array of tables, written [[routes]]");
    return policy;
  }
  // Two routes with the same host and path compete for the same requests,
  // and the policy always picks the same one, so the other never applies.
  std::map<std::string, std::string> first_route;
  for (const toml::node& node : *array) {
    readRoute(reader, *node.as_table(), &policy);
    const RouteConfig& route = policy.routes.back();
    std::string pattern = route.exact.empty() ? "prefix " + route.prefix : "exact " + route.exact;
    std::string key = route.host + " " + pattern;
    auto [found, inserted] = first_route.emplace(key, route.source);
    if (!inserted) {
      reader.fail(&node, "route with " + pattern +
                             (route.host.empty() ? "" : " for host " + route.host) +
                             " duplicates the route at " + found->second +
                             ", so one of them can never match; remove one or change its path "
                             "or host");
    }
  }
  return policy;
}

namespace {

void readServer(Reader& reader, const toml::table& root, GatewayConfig* config) {
  const toml::table* server = reader.table(root, "server", true);
  if (server == nullptr) {
    return;
  }
  reader.rejectUnknownKeys(*server, "[server]",
                           {"listen", "log_level", "log_format", "log_file", "workers"});
  if (const toml::node* workers = server->get("workers"); workers != nullptr) {
    std::optional<std::string_view> text = workers->value<std::string_view>();
    if (text && *text == "auto") {
      config->workers = GatewayConfig::kWorkersAuto;
    } else if (workers->is_integer()) {
      reader.unsignedInteger(*server, "workers", &config->workers, 1, GatewayConfig::kMaxWorkers);
    } else {
      reader.fail(workers, "'workers' must be an integer between 1 and " +
                               std::to_string(GatewayConfig::kMaxWorkers) + " or \"auto\"");
    }
  }
  reader.path(*server, "log_file", &config->log_file, false);
  if (reader.string(*server, "log_format", &config->log_format, false) &&
      config->log_format != "text" && config->log_format != "json") {
    reader.fail(server->get("log_format"),
                "log_format '" + config->log_format + "' is invalid; use \"text\" or \"json\"");
  }
  std::vector<std::string> listen;
  if (!reader.stringArray(*server, "listen", &listen, "127.0.0.1:4443") &&
      server->get("listen") == nullptr) {
    reader.fail(server, "missing key 'listen', for example listen = [\"127.0.0.1:4443\"]");
  }
  for (const std::string& text : listen) {
    ListenAddress address;
    if (!parseListenAddress(text, &address)) {
      reader.fail(server->get("listen"),
                  "invalid listen address '" + text + "'; expected HOST:PORT or [IPV6]:PORT");
      continue;
    }
    config->listen.push_back(address);
  }
  if (reader.string(*server, "log_level", &config->log_level, false) &&
      config->log_level != "debug" && config->log_level != "info" && config->log_level != "warn" &&
      config->log_level != "error") {
    reader.fail(server->get("log_level"),
                "log_level '" + config->log_level + "' is invalid; use debug, info, warn or error");
  }
}

void readTls(Reader& reader, const toml::table& root, GatewayConfig* config) {
  const toml::table* tls = reader.table(root, "tls", true);
  if (tls == nullptr) {
    return;
  }
  reader.rejectUnknownKeys(*tls, "[tls]",
                           {"cert", "key", "chain", "client_ca", "crl", "min_version",
                            "ticket_key_file", "client_cert"});
  reader.path(*tls, "ticket_key_file", &config->tls.ticket_key_file, false);
  if (reader.string(*tls, "client_cert", &config->tls.client_cert, false) &&
      config->tls.client_cert != "require" && config->tls.client_cert != "request") {
    reader.fail(tls->get("client_cert"), "client_cert '" + config->tls.client_cert +
                                             "' is invalid; use \"require\" or \"request\"");
  }
  reader.path(*tls, "cert", &config->tls.cert_file, true);
  reader.path(*tls, "key", &config->tls.key_file, true);
  reader.path(*tls, "chain", &config->tls.chain_file, false);
  reader.path(*tls, "client_ca", &config->tls.client_ca_file, true);
  reader.path(*tls, "crl", &config->tls.crl_file, false);
  if (reader.string(*tls, "min_version", &config->tls.min_version, false) &&
      config->tls.min_version != "1.2" && config->tls.min_version != "1.3") {
    reader.fail(tls->get("min_version"), "min_version '" + config->tls.min_version +
                                             "' is not supported; use \"1.3\" or \"1.2\"");
  }
}

void readTimeoutsAndLimits(Reader& reader, const toml::table& root, GatewayConfig* config) {
  if (const toml::table* timeouts = reader.table(root, "timeouts", false)) {
    reader.rejectUnknownKeys(*timeouts, "[timeouts]",
                             {"handshake_ms", "request_header_ms", "request_body_ms", "idle_ms",
                              "upstream_connect_ms", "upstream_response_ms"});
    reader.milliseconds(*timeouts, "handshake_ms", &config->timeouts.handshake_ms);
    reader.milliseconds(*timeouts, "request_header_ms", &config->timeouts.request_header_ms);
    reader.milliseconds(*timeouts, "request_body_ms", &config->timeouts.request_body_ms);
    reader.milliseconds(*timeouts, "idle_ms", &config->timeouts.idle_ms);
    reader.milliseconds(*timeouts, "upstream_connect_ms", &config->timeouts.upstream_connect_ms);
    reader.milliseconds(*timeouts, "upstream_response_ms", &config->timeouts.upstream_response_ms);
  }
  if (const toml::table* limits = reader.table(root, "limits", false)) {
    reader.rejectUnknownKeys(
        *limits, "[limits]",
        {"max_header_bytes", "max_connections", "max_body_bytes", "request_buffer_bytes"});
    if (const toml::node* node = limits->get("max_body_bytes")) {
      if (!node->is_integer() || node->as_integer()->get() < 0) {
        reader.fail(node, "'max_body_bytes' must be a non-negative integer (bytes)");
      } else {
        config->limits.max_body_bytes = static_cast<uint64_t>(node->as_integer()->get());
      }
    }
    reader.unsignedInteger(*limits, "max_header_bytes", &config->limits.max_header_bytes, 1024,
                           1024 * 1024);
    reader.unsignedInteger(*limits, "max_connections", &config->limits.max_connections, 1,
                           1'000'000);
    reader.unsignedInteger(*limits, "request_buffer_bytes", &config->limits.request_buffer_bytes, 0,
                           16 * 1024 * 1024);
  }
}

void readAdmin(Reader& reader, const toml::table& root, GatewayConfig* config) {
  const toml::table* admin = reader.table(root, "admin", false);
  if (admin == nullptr) {
    return;
  }
  reader.rejectUnknownKeys(*admin, "[admin]", {"listen"});
  std::string listen;
  if (!reader.string(*admin, "listen", &listen, true)) {
    return;
  }
  if (!parseListenAddress(listen, &config->admin)) {
    reader.fail(admin->get("listen"), "invalid admin listen address '" + listen +
                                          "'; expected HOST:PORT, for example \"127.0.0.1:9901\"");
    return;
  }
  config->has_admin = true;
}

}  // namespace

Result<GatewayConfig> loadGatewayConfig(const std::string& path) {
  std::vector<std::string> errors;
  bool watch_policy = false;
  GatewayConfig config;
  config.file = path;
  std::optional<toml::table> root =
      parseFile(path, &errors, "pass --config FILE or create the file");
  if (root) {
    Reader reader(path, &errors);
    reader.rejectUnknownKeys(*root, "the gateway file",
                             {"server", "tls", "timeouts", "limits", "policy", "admin"});
    readAdmin(reader, *root, &config);
    readServer(reader, *root, &config);
    readTls(reader, *root, &config);
    readTimeoutsAndLimits(reader, *root, &config);
    if (const toml::table* policy = reader.table(*root, "policy", true)) {
      reader.rejectUnknownKeys(*policy, "[policy]", {"file", "watch"});
      if (const toml::node* watch = policy->get("watch")) {
        if (!watch->is_boolean()) {
          reader.fail(watch, "'watch' must be true or false");
        } else {
          watch_policy = watch->as_boolean()->get();
        }
      }
      std::string policy_file;
      reader.path(*policy, "file", &policy_file, true);
      if (!policy_file.empty()) {
        std::error_code ec;
        if (!fs::exists(policy_file, ec)) {
          reader.fail(policy->get("file"), "policy file " + policy_file +
                                               " not found; create it or change [policy] file");
        } else {
          config.policy = loadPolicyConfig(policy_file, &errors);
          config.policy.watch = watch_policy;
        }
      }
    }
  }
  if (!errors.empty()) {
    std::string message;
    for (const std::string& error : errors) {
      message += error + "\n";
    }
    message.pop_back();
    return Error{message};
  }
  return config;
}

}  // namespace gw::config
