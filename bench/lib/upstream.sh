# shellcheck shell=bash
# The upstream every server proxies to. Sourced by bench/run.

# Writes an nginx configuration that replaces upstream-demo: plain HTTP on
# 127.0.0.1:PORT, where GET /secret returns the body upstream-demo returns
# for the X-Client-CN header. Used only when upstream-demo does not work.
write_standin_upstream_config() {
  local dir=$1 port=$2
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<NGINX
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:$port;
    default_type text/plain;
    location = /secret {
      return 200 "Secret resource. Welcome \$http_x_client_cn!\n";
    }
    location / {
      return 404;
    }
  }
}
NGINX
}

# Returns success when GET /secret on 127.0.0.1:PORT for CN good-client
# returns the body upstream-demo sends.
upstream_answers() {
  local port=$1 body
  body=$(curl -s --max-time 2 -H 'X-Client-CN: good-client' "http://127.0.0.1:$port/secret") &&
    [[ $body == "Secret resource. Welcome good-client!" ]]
}
