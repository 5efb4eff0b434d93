# Sourced by scripts/bench.sh and the benchmark scripts: the nginx arm's configuration, written in one place so
# that every script measures the same reverse proxy.
# shellcheck shell=bash
# shellcheck source=Benchmarks/scripts/script_helpers.sh
source "$(dirname "${BASH_SOURCE[0]}")/script_helpers.sh"

# Writes DIR/nginx.conf: nginx in front of the fake on 127.0.0.1:UPSTREAM_PORT, listening on 127.0.0.1:PORT, with
# the settings an SSE relay needs (no response buffering, upstream keep-alive), 2 workers, in the foreground, every
# file it writes under DIR. Run it with `nginx -c DIR/nginx.conf -p DIR/`.
# With a fourth argument `tls`, it listens with TLS (1.3 or 1.2) and offers HTTP/2 (ALPN), as api.cerebras.ai does, on
# a self-signed certificate for 127.0.0.1 written to DIR/cert.pem (clients connect with certificate checks off, or
# trust that file): a front that lets the gateway's upstream client speak the production protocol to the fake, which
# itself serves HTTP/1.1 in clear. `tls-h1` is the same front offering HTTP/1.1 only. A TLS front writes a line to
# DIR/handshakes.log for each connection's first request: `r` when its handshake resumed an earlier TLS session,
# `.` after a full one. With a fifth argument `https`, it calls its upstream over TLS (keep-alive and session reuse,
# certificate not checked), as a proxy in front of api.cerebras.ai would.
write_nginx_proxy_conf() { # dir port upstream_port [tls|tls-h1|""] [https]
    local dir=$1 port=$2 upstream_port=$3 mode=${4:-} upstream_scheme=${5:-http}
    local listen_tls="" tls_files="" access_log="access_log off;" upstream_tls=""
    mkdir -p "$dir"
    if [[ $mode == tls || $mode == tls-h1 ]]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
            -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
        listen_tls=" ssl"
        [[ $mode == tls ]] && listen_tls+=" http2"
        # TLS 1.3 as well: nginx 1.22 offers 1.2 only unless told, and a client and a current HTTPS API settle on
        # 1.3, whose sessions resume differently (tickets only; OpenSSL spends a session on its first resumption).
        tls_files="ssl_certificate $dir/cert.pem; ssl_certificate_key $dir/key.pem; ssl_protocols TLSv1.2 TLSv1.3;"
        # One line per connection, at its first request: whether its handshake resumed a session.
        access_log="map \$connection_requests \$first_request { 1 1; default 0; }
    log_format handshake '\$ssl_session_reused';
    access_log $dir/handshakes.log handshake if=\$first_request;"
    fi
    [[ $upstream_scheme == https ]] && upstream_tls="proxy_ssl_verify off; proxy_ssl_session_reuse on;"
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
    $access_log
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
        listen 127.0.0.1:$port$listen_tls backlog=4096;
        $tls_files
        keepalive_requests 1000000;
        keepalive_timeout 120s;
        client_max_body_size 64m;
        client_body_buffer_size 1m;
        location / {
            proxy_pass $upstream_scheme://fake;
            $upstream_tls
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 300s;
        }
    }
}
EOF
}

# Starts nginx with write_nginx_proxy_conf's configuration in DIR, on a free port, in front of the fake (or another
# front) on UPSTREAM_PORT; sets $nginx_pid (the caller stops it) and $nginx_url. It may not answer yet: see
# wait_for_http.
start_nginx_proxy() { # dir upstream_port [tls|tls-h1|""] [https]
    local dir=$1 port scheme=http
    port=$(free_port)
    write_nginx_proxy_conf "$dir" "$port" "$2" "${3:-}" "${4:-http}"
    [[ ${3:-} == tls* ]] && scheme=https
    nginx -c "$dir/nginx.conf" -p "$dir/" >"$dir/out.log" 2>&1 &
    # shellcheck disable=SC2034 # read by the caller
    nginx_pid=$!
    # shellcheck disable=SC2034
    nginx_url=$scheme://127.0.0.1:$port
}
