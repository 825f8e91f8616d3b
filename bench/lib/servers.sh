# shellcheck shell=bash disable=SC2034  # server_cmd is read by bench/run.
# Configurations and start commands for the servers bench/run compares.
# Sourced by bench/run. Every server gets one worker thread where that is
# configurable (certgate-2w two) and listens on 127.0.0.1 only. Each requires a client
# certificate from the bench CA and allows only CN good-client on /secret,
# with 403 for other CNs and 404 for other paths. Allowed requests go to the
# same upstream, with the CN in X-Client-CN.
#
# Each write_*_config function takes: config directory, listen port,
# upstream port, certificate directory. Each *_command function prints
# nothing and fills the array server_cmd with the command to run.

write_certgate_config() {
  local dir=$1 port=$2 upstream=$3 pki=$4
  cat >"$dir/gateway.toml" <<TOML
[server]
listen = ["127.0.0.1:$port"]
# warn keeps per-connection logging out of the measurement, as on the peers.
log_level = "warn"

[tls]
cert = "$pki/server.crt"
key = "$pki/server.key"
chain = "$pki/ca.crt"
client_ca = "$pki/ca.crt"
min_version = "1.3"

[timeouts]
handshake_ms = 60000
request_header_ms = 120000
idle_ms = 120000

[limits]
max_connections = 8000

[policy]
file = "policy.toml"
TOML
  cat >"$dir/policy.toml" <<TOML
[upstreams.demo]
address = "127.0.0.1:$upstream"

[[routes]]
prefix = "/secret"
upstream = "demo"
allow_cn = ["good-client"]
TOML
  server_cmd=("$BIN/certgate" serve --config "$dir/gateway.toml")
}

# certgate with [server] workers = 2; bench/run pins it to BENCH_2W_CORES.
write_certgate-2w_config() {
  write_certgate_config "$@"
  sed -i 's/^\[server\]$/[server]\nworkers = 2/' "$1/gateway.toml"
}

write_nginx_config() {
  local dir=$1 port=$2 upstream=$3 pki=$4
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<NGINX
worker_processes 1;
worker_rlimit_nofile 16000;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 8000; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 120s;

  # \$ssl_client_s_dn is RFC 2253 text, for example "CN=good-client,O=Demo".
  map \$ssl_client_s_dn \$client_cn {
    default "";
    "~(^|,)CN=(?<cn>[^,]+)" \$cn;
  }
  upstream demo {
    server 127.0.0.1:$upstream;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:$port ssl;
    ssl_protocols TLSv1.3;
    ssl_certificate $pki/server.crt;
    ssl_certificate_key $pki/server.key;
    ssl_client_certificate $pki/ca.crt;
    ssl_verify_client on;
    ssl_verify_depth 3;
    location /secret {
      if (\$client_cn != "good-client") {
        return 403;
      }
      proxy_pass http://demo;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Client-CN \$client_cn;
    }
    location / {
      return 404;
    }
  }
}
NGINX
  server_cmd=(nginx -c "$dir/nginx.conf" -g 'daemon off;')
}

write_haproxy_config() {
  local dir=$1 port=$2 upstream=$3 pki=$4
  # HAProxy takes the certificate and its key from one PEM file.
  cat "$pki/server.crt" "$pki/server.key" >"$dir/server.pem"
  cat >"$dir/haproxy.cfg" <<HAPROXY
global
  nbthread 1
  # Each connection needs two descriptors, and the hard limit here may be
  # as low as 20000.
  maxconn 8000
  ssl-default-bind-options ssl-min-ver TLSv1.3

defaults
  mode http
  # Without this HAProxy responds "400 Bad request" to a connection closed
  # before its first request (the handshake modes); nginx, Caddy and
  # certgate close it silently.
  option http-ignore-probes
  timeout connect 5s
  timeout client 120s
  timeout server 60s
  timeout http-request 120s
  timeout http-keep-alive 120s

frontend gateway
  bind 127.0.0.1:$port ssl crt $dir/server.pem ca-file $pki/ca.crt verify required
  acl secret_path path /secret
  acl secret_path path_beg /secret/
  acl good_client ssl_c_s_dn(cn) -m str good-client
  http-request return status 404 unless secret_path
  http-request deny deny_status 403 unless good_client
  http-request set-header X-Client-CN %[ssl_c_s_dn(cn)]
  default_backend demo

backend demo
  http-reuse always
  server demo 127.0.0.1:$upstream
HAPROXY
  server_cmd=(haproxy -f "$dir/haproxy.cfg" -db)
}

write_caddy_config() {
  local dir=$1 port=$2 upstream=$3 pki=$4
  # Caddy 2.6 has no CN placeholder: {http.request.tls.client.subject} is the
  # whole subject in Go's pkix.Name form ("CN=good-client,O=Demo"), so map
  # extracts the CN and the expression matcher compares it.
  cat >"$dir/Caddyfile" <<CADDY
{
  admin off
  auto_https off
}

https://localhost:$port {
  bind 127.0.0.1
  tls $pki/server.crt $pki/server.key {
    protocols tls1.3
    client_auth {
      mode require_and_verify
      trusted_ca_cert_file $pki/ca.crt
    }
  }
  map {http.request.tls.client.subject} {client_cn} {
    ~(?:^|,)CN=([^,]+) "\${1}"
    default ""
  }
  @secret path /secret /secret/*
  @good_client expression \`{client_cn} == "good-client"\`
  handle @secret {
    handle @good_client {
      reverse_proxy 127.0.0.1:$upstream {
        header_up X-Client-CN {client_cn}
      }
    }
    respond 403
  }
  respond 404
}
CADDY
  server_cmd=(env GOMAXPROCS=1 HOME="$dir" XDG_DATA_HOME="$dir/data" XDG_CONFIG_HOME="$dir/config"
    caddy run --config "$dir/Caddyfile" --adapter caddyfile)
}

# Prints the version line of one server.
server_version() {
  case $1 in
    certgate | certgate-2w) "$BIN/certgate" --version 2>&1 | head -n1 ;;
    nginx) nginx -v 2>&1 | head -n1 ;;
    haproxy) haproxy -v 2>&1 | head -n1 ;;
    caddy) echo "caddy $(caddy version 2>&1 | head -n1)" ;;
  esac
}
