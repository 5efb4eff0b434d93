# Sourced by scripts/bench.sh and the benchmark scripts: the nginx arm's configuration, written in one place so
# that every script measures the same reverse proxy.
# shellcheck shell=bash

# Writes DIR/nginx.conf: nginx in front of the fake on 127.0.0.1:UPSTREAM_PORT, listening on 127.0.0.1:PORT, with
# the settings an SSE relay needs (no response buffering, upstream keep-alive), 2 workers, in the foreground, every
# file it writes under DIR. Run it with `nginx -c DIR/nginx.conf -p DIR/`.
write_nginx_proxy_conf() { # dir port upstream_port
    local dir=$1 port=$2 upstream_port=$3
    mkdir -p "$dir"
    cat >"$dir/nginx.conf" <<EOF
# Reverse proxy with the settings an SSE relay needs: no response buffering, upstream keep-alive.
worker_processes 2;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
worker_rlimit_nofile $(ulimit -n);
events { worker_connections 16384; multi_accept on; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    upstream fake {
        server 127.0.0.1:$upstream_port;
        keepalive 1024;
        keepalive_requests 1000000;
        keepalive_timeout 120s;
    }
    server {
        listen 127.0.0.1:$port backlog=4096;
        keepalive_requests 1000000;
        keepalive_timeout 120s;
        client_max_body_size 64m;
        client_body_buffer_size 1m;
        location / {
            proxy_pass http://fake;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 300s;
        }
    }
}
EOF
}
