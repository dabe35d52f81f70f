# Tests of the haproxy pack: the HTTP and TCP log examples of HAProxy's
# documentation and lines of the same formats (each group names its
# source), then malformed lines.
# HAProxy's documentation (configuration.txt, 8.2.2 "TCP log format" and
# 8.2.3 "HTTP log format": the examples, with the syslog header of a
# syslog server in front).
test "haproxy_doc_http" {
  transform = transform.haproxy
  input     = "Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} \"GET /index.html HTTP/1.1\""

  expect {
    kind = "proxy_access"
    time = "2009-02-06T12:14:14.655Z"
    fields = {
      accept_date = "06/Feb/2009:12:14:14.655"
      active_conns = "1"
      backend = "static"
      backend_conns = "1"
      backend_queue = "0"
      bytes_sent = 2750
      client_ip = "10.0.1.2"
      client_port = 33317
      duration_ms = 109
      frontend = "http-in"
      frontend_conns = "1"
      haproxy_pid = "14389"
      method = "GET"
      mode = "http"
      path = "/index.html"
      protocol = "HTTP/1.1"
      proxy = "haproxy"
      request_cookie = "-"
      request_headers = "1wt.eu"
      response_cookie = "-"
      response_headers = ""
      retries = 0
      server = "srv1"
      server_conns = "1"
      server_queue = "0"
      status = 200
      termination_state = "----"
      time_connect = "30"
      time_queue = "0"
      time_request = "10"
      upstream_ms = 69
    }
  }
}

test "haproxy_doc_tcp" {
  transform = transform.haproxy
  input     = "Feb  6 12:12:56 localhost haproxy[14387]: 10.0.1.2:33313 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0"

  expect {
    kind = "proxy_access"
    time = "2009-02-06T12:12:51.443Z"
    fields = {
      accept_date = "06/Feb/2009:12:12:51.443"
      active_conns = "0"
      backend = "bck"
      backend_conns = "0"
      backend_queue = "0"
      bytes_sent = 212
      client_ip = "10.0.1.2"
      client_port = 33313
      duration_ms = 5007
      frontend = "fnt"
      frontend_conns = "0"
      haproxy_pid = "14387"
      mode = "tcp"
      proxy = "haproxy"
      retries = 3
      server = "srv1"
      server_conns = "0"
      server_queue = "0"
      termination_state = "--"
      time_connect = "0"
      time_queue = "0"
    }
  }
}

test "haproxy_doc_http_raw" {
  transform = transform.haproxy
  input     = "10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} \"GET /index.html HTTP/1.1\""

  expect {
    kind = "proxy_access"
    time = "2009-02-06T12:14:14.655Z"
    fields = {
      accept_date = "06/Feb/2009:12:14:14.655"
      active_conns = "1"
      backend = "static"
      backend_conns = "1"
      backend_queue = "0"
      bytes_sent = 2750
      client_ip = "10.0.1.2"
      client_port = 33317
      duration_ms = 109
      frontend = "http-in"
      frontend_conns = "1"
      method = "GET"
      mode = "http"
      path = "/index.html"
      protocol = "HTTP/1.1"
      proxy = "haproxy"
      request_cookie = "-"
      request_headers = "1wt.eu"
      response_cookie = "-"
      response_headers = ""
      retries = 0
      server = "srv1"
      server_conns = "1"
      server_queue = "0"
      status = 200
      termination_state = "----"
      time_connect = "30"
      time_queue = "0"
      time_request = "10"
      upstream_ms = 69
    }
  }
}

test "haproxy_doc_tcp_raw" {
  transform = transform.haproxy
  input     = "10.0.1.2:33313 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0"

  expect {
    kind = "proxy_access"
    time = "2009-02-06T12:12:51.443Z"
    fields = {
      accept_date = "06/Feb/2009:12:12:51.443"
      active_conns = "0"
      backend = "bck"
      backend_conns = "0"
      backend_queue = "0"
      bytes_sent = 212
      client_ip = "10.0.1.2"
      client_port = 33313
      duration_ms = 5007
      frontend = "fnt"
      frontend_conns = "0"
      mode = "tcp"
      proxy = "haproxy"
      retries = 3
      server = "srv1"
      server_conns = "0"
      server_queue = "0"
      termination_state = "--"
      time_connect = "0"
      time_queue = "0"
    }
  }
}

# configuration.txt, 8.5 "Session state at disconnection" and 8.9
# "Examples of logs" (the timeout, abort and bad-request cases).
test "haproxy_doc_timeout_client" {
  transform = transform.haproxy
  input     = "Feb  6 12:15:00 localhost haproxy[18113]: 127.0.0.1:34548 [15/Oct/2003:15:18:55.798] px-http px-http/<NOSRV> -1/-1/-1/-1/+50001 408 +2750 - - cR-- 2/2/2/0/+2 0/0 \"<BADREQ>\""

  expect {
    kind = "proxy_access"
    time = "2003-10-15T15:18:55.798Z"
    fields = {
      accept_date = "15/Oct/2003:15:18:55.798"
      active_conns = "2"
      backend = "px-http"
      backend_conns = "2"
      backend_queue = "0"
      bytes_sent = 2750
      client_ip = "127.0.0.1"
      client_port = 34548
      duration_ms = 50001
      frontend = "px-http"
      frontend_conns = "2"
      haproxy_pid = "18113"
      method = "<BADREQ>"
      mode = "http"
      proxy = "haproxy"
      request_cookie = "-"
      response_cookie = "-"
      retries = 2
      server_conns = "0"
      server_queue = "0"
      status = 408
      termination_state = "cR--"
      time_connect = "-1"
      time_queue = "-1"
      time_request = "-1"
      upstream_ms = -1
    }
  }
}

test "haproxy_doc_abort_early" {
  transform = transform.haproxy
  input     = "Feb  6 12:15:01 localhost haproxy[18113]: 127.0.0.1:34549 [15/Oct/2003:15:19:06.103] px-http px-http/<NOSRV> -1/-1/-1/-1/+50001 408 +2750 - - cR-- 2/2/2/0/+2 0/0 \"\""

  expect {
    kind = "proxy_access"
    time = "2003-10-15T15:19:06.103Z"
    fields = {
      accept_date = "15/Oct/2003:15:19:06.103"
      active_conns = "2"
      backend = "px-http"
      backend_conns = "2"
      backend_queue = "0"
      bytes_sent = 2750
      client_ip = "127.0.0.1"
      client_port = 34549
      duration_ms = 50001
      frontend = "px-http"
      frontend_conns = "2"
      haproxy_pid = "18113"
      mode = "http"
      proxy = "haproxy"
      request_cookie = "-"
      response_cookie = "-"
      retries = 2
      server_conns = "0"
      server_queue = "0"
      status = 408
      termination_state = "cR--"
      time_connect = "-1"
      time_queue = "-1"
      time_request = "-1"
      upstream_ms = -1
    }
  }
}

test "haproxy_doc_server_timeout" {
  transform = transform.haproxy
  input     = "Feb  6 12:15:02 localhost haproxy[18989]: 10.0.0.1:34552 [15/Oct/2003:15:26:31.462] px-http px-http/srv1 3183/-1/-1/-1/11215 503 0 - - SC-- 205/202/202/115/3 0/0 \"HEAD / HTTP/1.0\""

  expect {
    kind = "proxy_access"
    time = "2003-10-15T15:26:31.462Z"
    fields = {
      accept_date = "15/Oct/2003:15:26:31.462"
      active_conns = "205"
      backend = "px-http"
      backend_conns = "202"
      backend_queue = "0"
      bytes_sent = 0
      client_ip = "10.0.0.1"
      client_port = 34552
      duration_ms = 11215
      frontend = "px-http"
      frontend_conns = "202"
      haproxy_pid = "18989"
      method = "HEAD"
      mode = "http"
      path = "/"
      protocol = "HTTP/1.0"
      proxy = "haproxy"
      request_cookie = "-"
      response_cookie = "-"
      retries = 3
      server = "srv1"
      server_conns = "115"
      server_queue = "0"
      status = 503
      termination_state = "SC--"
      time_connect = "-1"
      time_queue = "-1"
      time_request = "3183"
      upstream_ms = -1
    }
  }
}

test "haproxy_doc_queue_full" {
  transform = transform.haproxy
  input     = "Feb  6 12:15:03 localhost haproxy[18989]: 10.0.0.1:34553 [15/Oct/2003:15:26:31.462] px-http px-http/<NOSRV> 0/-1/-1/-1/+7 503 0 - - sQ-- 205/202/202/115/3 0/5 \"GET / HTTP/1.0\""

  expect {
    kind = "proxy_access"
    time = "2003-10-15T15:26:31.462Z"
    fields = {
      accept_date = "15/Oct/2003:15:26:31.462"
      active_conns = "205"
      backend = "px-http"
      backend_conns = "202"
      backend_queue = "5"
      bytes_sent = 0
      client_ip = "10.0.0.1"
      client_port = 34553
      duration_ms = 7
      frontend = "px-http"
      frontend_conns = "202"
      haproxy_pid = "18989"
      method = "GET"
      mode = "http"
      path = "/"
      protocol = "HTTP/1.0"
      proxy = "haproxy"
      request_cookie = "-"
      response_cookie = "-"
      retries = 3
      server_conns = "115"
      server_queue = "0"
      status = 503
      termination_state = "sQ--"
      time_connect = "-1"
      time_queue = "-1"
      time_request = "0"
      upstream_ms = -1
    }
  }
}

test "haproxy_doc_connect_timeout" {
  transform = transform.haproxy
  input     = "Feb  6 12:15:04 localhost haproxy[18989]: 10.0.0.1:34554 [15/Oct/2003:15:26:31.462] px-http px-http/srv1 0/0/-1/-1/30001 503 212 - - sC-- 205/202/202/115/3 0/0 \"GET /x HTTP/1.1\""

  expect {
    kind = "proxy_access"
    time = "2003-10-15T15:26:31.462Z"
    fields = {
      accept_date = "15/Oct/2003:15:26:31.462"
      active_conns = "205"
      backend = "px-http"
      backend_conns = "202"
      backend_queue = "0"
      bytes_sent = 212
      client_ip = "10.0.0.1"
      client_port = 34554
      duration_ms = 30001
      frontend = "px-http"
      frontend_conns = "202"
      haproxy_pid = "18989"
      method = "GET"
      mode = "http"
      path = "/x"
      protocol = "HTTP/1.1"
      proxy = "haproxy"
      request_cookie = "-"
      response_cookie = "-"
      retries = 3
      server = "srv1"
      server_conns = "115"
      server_queue = "0"
      status = 503
      termination_state = "sC--"
      time_connect = "-1"
      time_queue = "0"
      time_request = "0"
      upstream_ms = -1
    }
  }
}

test "haproxy_doc_tcp_client_abort" {
  transform = transform.haproxy
  input     = "Feb  6 12:15:05 localhost haproxy[18989]: 10.0.0.1:34555 [15/Oct/2003:15:26:31.462] fnt bck/srv1 0/0/1201 0 CD 1/1/1/1/0 0/0"

  expect {
    kind = "proxy_access"
    time = "2003-10-15T15:26:31.462Z"
    fields = {
      accept_date = "15/Oct/2003:15:26:31.462"
      active_conns = "1"
      backend = "bck"
      backend_conns = "1"
      backend_queue = "0"
      bytes_sent = 0
      client_ip = "10.0.0.1"
      client_port = 34555
      duration_ms = 1201
      frontend = "fnt"
      frontend_conns = "1"
      haproxy_pid = "18989"
      mode = "tcp"
      proxy = "haproxy"
      retries = 0
      server = "srv1"
      server_conns = "1"
      server_queue = "0"
      termination_state = "CD"
      time_connect = "0"
      time_queue = "0"
    }
  }
}

# Production-shaped lines of the same formats: TLS frontends (~), IPv6
# clients, captured headers, HTTP/2, retries and redispatches, a stdout
# container log (log stdout format raw).
test "haproxy_tls_h2" {
  transform = transform.haproxy
  input     = "Nov 21 05:41:35 lb-1 haproxy[2301]: 203.0.113.9:52311 [21/Nov/2026:05:41:35.123] https-in~ api/api-2 0/0/1/12/13 200 5120 - - ---- 12/8/3/1/0 0/0 {api.example.com|curl/8.5.0} {} \"GET /v1/items?page=2 HTTP/2.0\""

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:35.123Z"
    fields = {
      accept_date = "21/Nov/2026:05:41:35.123"
      active_conns = "12"
      backend = "api"
      backend_conns = "3"
      backend_queue = "0"
      bytes_sent = 5120
      client_ip = "203.0.113.9"
      client_port = 52311
      duration_ms = 13
      frontend = "https-in"
      frontend_conns = "8"
      haproxy_pid = "2301"
      method = "GET"
      mode = "http"
      path = "/v1/items?page=2"
      protocol = "HTTP/2.0"
      proxy = "haproxy"
      request_cookie = "-"
      request_headers = "api.example.com|curl/8.5.0"
      response_cookie = "-"
      response_headers = ""
      retries = 0
      server = "api-2"
      server_conns = "1"
      server_queue = "0"
      status = 200
      termination_state = "----"
      time_connect = "1"
      time_queue = "0"
      time_request = "0"
      tls = "~"
      upstream_ms = 12
    }
  }
}

test "haproxy_ipv6_post" {
  transform = transform.haproxy
  input     = "Nov 21 05:41:36 lb-1 haproxy[2301]: 2001:db8::1:40422 [21/Nov/2026:05:41:36.500] https-in~ api/api-1 2/0/0/45/47 201 312 - - ---- 12/8/3/1/0 0/0 \"POST /v1/orders HTTP/1.1\""

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:36.5Z"
    fields = {
      accept_date = "21/Nov/2026:05:41:36.500"
      active_conns = "12"
      backend = "api"
      backend_conns = "3"
      backend_queue = "0"
      bytes_sent = 312
      client_ip = "2001:db8::1"
      client_port = 40422
      duration_ms = 47
      frontend = "https-in"
      frontend_conns = "8"
      haproxy_pid = "2301"
      method = "POST"
      mode = "http"
      path = "/v1/orders"
      protocol = "HTTP/1.1"
      proxy = "haproxy"
      request_cookie = "-"
      response_cookie = "-"
      retries = 0
      server = "api-1"
      server_conns = "1"
      server_queue = "0"
      status = 201
      termination_state = "----"
      time_connect = "0"
      time_queue = "0"
      time_request = "2"
      tls = "~"
      upstream_ms = 45
    }
  }
}

test "haproxy_retried" {
  transform = transform.haproxy
  input     = "Nov 21 05:41:37 lb-1 haproxy[2301]: 198.51.100.7:33001 [21/Nov/2026:05:41:37.000] http-in web/web-3 0/0/3000/20/3020 200 840 - - ---- 5/5/2/1/+1 0/0 \"GET /health HTTP/1.1\""

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:37Z"
    fields = {
      accept_date = "21/Nov/2026:05:41:37.000"
      active_conns = "5"
      backend = "web"
      backend_conns = "2"
      backend_queue = "0"
      bytes_sent = 840
      client_ip = "198.51.100.7"
      client_port = 33001
      duration_ms = 3020
      frontend = "http-in"
      frontend_conns = "5"
      haproxy_pid = "2301"
      method = "GET"
      mode = "http"
      path = "/health"
      protocol = "HTTP/1.1"
      proxy = "haproxy"
      request_cookie = "-"
      response_cookie = "-"
      retries = 1
      server = "web-3"
      server_conns = "1"
      server_queue = "0"
      status = 200
      termination_state = "----"
      time_connect = "3000"
      time_queue = "0"
      time_request = "0"
      upstream_ms = 20
    }
  }
}

test "haproxy_server_error" {
  transform = transform.haproxy
  input     = "Nov 21 05:41:38 lb-1 haproxy[2301]: 198.51.100.8:33002 [21/Nov/2026:05:41:38.250] http-in web/web-1 0/0/0/150/151 500 91 - - ---- 5/5/2/1/0 0/0 \"PUT /v1/cart/42 HTTP/1.1\""

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:38.25Z"
    fields = {
      accept_date = "21/Nov/2026:05:41:38.250"
      active_conns = "5"
      backend = "web"
      backend_conns = "2"
      backend_queue = "0"
      bytes_sent = 91
      client_ip = "198.51.100.8"
      client_port = 33002
      duration_ms = 151
      frontend = "http-in"
      frontend_conns = "5"
      haproxy_pid = "2301"
      method = "PUT"
      mode = "http"
      path = "/v1/cart/42"
      protocol = "HTTP/1.1"
      proxy = "haproxy"
      request_cookie = "-"
      response_cookie = "-"
      retries = 0
      server = "web-1"
      server_conns = "1"
      server_queue = "0"
      status = 500
      termination_state = "----"
      time_connect = "0"
      time_queue = "0"
      time_request = "0"
      upstream_ms = 150
    }
  }
}

test "haproxy_denied" {
  transform = transform.haproxy
  input     = "Nov 21 05:41:39 lb-1 haproxy[2301]: 192.0.2.66:40000 [21/Nov/2026:05:41:39.000] http-in http-in/<NOSRV> 0/-1/-1/-1/0 403 192 - - PR-- 1/1/0/0/0 0/0 \"GET /admin HTTP/1.1\""

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:39Z"
    fields = {
      accept_date = "21/Nov/2026:05:41:39.000"
      active_conns = "1"
      backend = "http-in"
      backend_conns = "0"
      backend_queue = "0"
      bytes_sent = 192
      client_ip = "192.0.2.66"
      client_port = 40000
      duration_ms = 0
      frontend = "http-in"
      frontend_conns = "1"
      haproxy_pid = "2301"
      method = "GET"
      mode = "http"
      path = "/admin"
      protocol = "HTTP/1.1"
      proxy = "haproxy"
      request_cookie = "-"
      response_cookie = "-"
      retries = 0
      server_conns = "0"
      server_queue = "0"
      status = 403
      termination_state = "PR--"
      time_connect = "-1"
      time_queue = "-1"
      time_request = "0"
      upstream_ms = -1
    }
  }
}

test "haproxy_redirect" {
  transform = transform.haproxy
  input     = "Nov 21 05:41:40 lb-1 haproxy[2301]: 192.0.2.67:40001 [21/Nov/2026:05:41:40.000] http-in http-in/<NOSRV> 0/-1/-1/-1/0 301 139 - - LR-- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\""

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:40Z"
    fields = {
      accept_date = "21/Nov/2026:05:41:40.000"
      active_conns = "1"
      backend = "http-in"
      backend_conns = "0"
      backend_queue = "0"
      bytes_sent = 139
      client_ip = "192.0.2.67"
      client_port = 40001
      duration_ms = 0
      frontend = "http-in"
      frontend_conns = "1"
      haproxy_pid = "2301"
      method = "GET"
      mode = "http"
      path = "/"
      protocol = "HTTP/1.1"
      proxy = "haproxy"
      request_cookie = "-"
      response_cookie = "-"
      retries = 0
      server_conns = "0"
      server_queue = "0"
      status = 301
      termination_state = "LR--"
      time_connect = "-1"
      time_queue = "-1"
      time_request = "0"
      upstream_ms = -1
    }
  }
}

test "haproxy_container_stdout" {
  transform = transform.haproxy
  input     = "10.244.1.9:55012 [21/Nov/2026:05:41:41.010] fe_main be_app/app1 0/0/0/3/3 204 0 - - ---- 3/3/0/0/0 0/0 \"OPTIONS /v1/items HTTP/1.1\""

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:41.01Z"
    fields = {
      accept_date = "21/Nov/2026:05:41:41.010"
      active_conns = "3"
      backend = "be_app"
      backend_conns = "0"
      backend_queue = "0"
      bytes_sent = 0
      client_ip = "10.244.1.9"
      client_port = 55012
      duration_ms = 3
      frontend = "fe_main"
      frontend_conns = "3"
      method = "OPTIONS"
      mode = "http"
      path = "/v1/items"
      protocol = "HTTP/1.1"
      proxy = "haproxy"
      request_cookie = "-"
      response_cookie = "-"
      retries = 0
      server = "app1"
      server_conns = "0"
      server_queue = "0"
      status = 204
      termination_state = "----"
      time_connect = "0"
      time_queue = "0"
      time_request = "0"
      upstream_ms = 3
    }
  }
}

test "haproxy_tcp_mysql" {
  transform = transform.haproxy
  input     = "Nov 21 05:41:42 lb-1 haproxy[2301]: 10.0.3.14:51000 [21/Nov/2026:05:41:42.000] mysql-in mysql/db-1 1/0/120034 8812 -- 2/2/2/2/0 0/0"

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:42Z"
    fields = {
      accept_date = "21/Nov/2026:05:41:42.000"
      active_conns = "2"
      backend = "mysql"
      backend_conns = "2"
      backend_queue = "0"
      bytes_sent = 8812
      client_ip = "10.0.3.14"
      client_port = 51000
      duration_ms = 120034
      frontend = "mysql-in"
      frontend_conns = "2"
      haproxy_pid = "2301"
      mode = "tcp"
      proxy = "haproxy"
      retries = 0
      server = "db-1"
      server_conns = "2"
      server_queue = "0"
      termination_state = "--"
      time_connect = "0"
      time_queue = "1"
    }
  }
}

test "haproxy_tcp_timeout" {
  transform = transform.haproxy
  input     = "Nov 21 05:41:43 lb-1 haproxy[2301]: 10.0.3.15:51001 [21/Nov/2026:05:41:43.000] redis-in redis/<NOSRV> -1/-1/3001 0 sC 2/2/2/0/3 0/0"

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:43Z"
    fields = {
      accept_date = "21/Nov/2026:05:41:43.000"
      active_conns = "2"
      backend = "redis"
      backend_conns = "2"
      backend_queue = "0"
      bytes_sent = 0
      client_ip = "10.0.3.15"
      client_port = 51001
      duration_ms = 3001
      frontend = "redis-in"
      frontend_conns = "2"
      haproxy_pid = "2301"
      mode = "tcp"
      proxy = "haproxy"
      retries = 3
      server_conns = "0"
      server_queue = "0"
      termination_state = "sC"
      time_connect = "-1"
      time_queue = "-1"
    }
  }
}

# Malformed: not HAProxy, a cut line, a status that is not a number, the
# start-up message HAProxy logs at level notice.
test "haproxy_not_haproxy" {
  transform = transform.haproxy
  input     = "Nov 21 05:41:44 lb-1 sshd[99]: Accepted publickey for alice"

  expect_dead_letter {
    reason = "no_match"
    step   = "parse.regex"
    error  = "no pattern matched (2 tried)"
  }
}

test "haproxy_cut" {
  transform = transform.haproxy
  input     = "Nov 21 05:41:45 lb-1 haproxy[2301]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30"

  expect_dead_letter {
    reason = "no_match"
    step   = "parse.regex"
    error  = "no pattern matched (2 tried)"
  }
}

test "haproxy_bad_status" {
  transform = transform.haproxy
  input     = "10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 OK 2750 - - ---- 1/1/1/1/0 0/0 \"GET / HTTP/1.1\""

  expect_dead_letter {
    reason = "no_match"
    step   = "parse.regex"
    error  = "no pattern matched (2 tried)"
  }
}

test "haproxy_startup" {
  transform = transform.haproxy
  input     = "Nov 21 05:41:30 lb-1 haproxy[2301]: Proxy http-in started."

  expect_dead_letter {
    reason = "no_match"
    step   = "parse.regex"
    error  = "no pattern matched (2 tried)"
  }
}

