# Tests of the traefik pack: JSON access log lines (the source is named
# below), then other lines and malformed ones.
# Traefik's JSON access log (Traefik documentation, "Access Logs": the
# format "json" and the field names of its "Limiting the Fields/Including
# Headers" table; request_ and downstream_ headers where kept), from
# routers on the web and websecure entry points.
test "traefik_ok_get" {
  transform = transform.traefik
  input     = "{\"ClientAddr\":\"203.0.113.9:52311\",\"ClientHost\":\"203.0.113.9\",\"ClientPort\":\"52311\",\"ClientUsername\":\"-\",\"DownstreamContentSize\":5120,\"DownstreamStatus\":200,\"Duration\":13456789,\"OriginContentSize\":5120,\"OriginDuration\":12001234,\"OriginStatus\":200,\"Overhead\":1455555,\"RequestAddr\":\"api.example.com\",\"RequestContentSize\":0,\"RequestCount\":42,\"RequestHost\":\"api.example.com\",\"RequestMethod\":\"GET\",\"RequestPath\":\"/v1/items?page=2\",\"RequestPort\":\"-\",\"RequestProtocol\":\"HTTP/2.0\",\"RequestScheme\":\"https\",\"RetryAttempts\":0,\"RouterName\":\"api@docker\",\"ServiceAddr\":\"10.0.0.7:8080\",\"ServiceName\":\"api@docker\",\"ServiceURL\":{\"Scheme\":\"http\",\"Opaque\":\"\",\"User\":null,\"Host\":\"10.0.0.7:8080\",\"Path\":\"\",\"RawPath\":\"\",\"ForceQuery\":false,\"RawQuery\":\"\",\"Fragment\":\"\",\"RawFragment\":\"\"},\"StartLocal\":\"2026-11-21T06:41:35.123456789+01:00\",\"StartUTC\":\"2026-11-21T05:41:35.123456789Z\",\"TLSCipher\":\"TLS_AES_128_GCM_SHA256\",\"TLSVersion\":\"1.3\",\"entryPointName\":\"websecure\",\"level\":\"info\",\"msg\":\"\",\"request_User-Agent\":\"curl/8.5.0\",\"time\":\"2026-11-21T06:41:35+01:00\"}"

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:35.123456789Z"
    fields = {
      authority = "api.example.com"
      backend = "api@docker"
      bytes_received = 0
      bytes_sent = 5120
      client_ip = "203.0.113.9"
      client_port = 52311
      duration_ms = 13.456789
      frontend = "websecure"
      method = "GET"
      mode = "http"
      path = "/v1/items?page=2"
      protocol = "HTTP/2.0"
      proxy = "traefik"
      retries = 0
      router = "api@docker"
      scheme = "https"
      start_time = "2026-11-21T05:41:35.123456789Z"
      status = 200
      tls_cipher = "TLS_AES_128_GCM_SHA256"
      tls_version = "1.3"
      upstream = "10.0.0.7:8080"
      upstream_ms = 12.001234
      upstream_status = 200
      user_agent = "curl/8.5.0"
    }
  }
}

test "traefik_post_created" {
  transform = transform.traefik
  input     = "{\"ClientAddr\":\"198.51.100.7:40222\",\"ClientHost\":\"198.51.100.7\",\"ClientPort\":\"40222\",\"ClientUsername\":\"-\",\"DownstreamContentSize\":312,\"DownstreamStatus\":201,\"Duration\":47000000,\"OriginContentSize\":312,\"OriginDuration\":45000000,\"OriginStatus\":201,\"Overhead\":2000000,\"RequestAddr\":\"api.example.com\",\"RequestContentSize\":88,\"RequestCount\":43,\"RequestHost\":\"api.example.com\",\"RequestMethod\":\"POST\",\"RequestPath\":\"/v1/orders\",\"RequestPort\":\"-\",\"RequestProtocol\":\"HTTP/1.1\",\"RequestScheme\":\"https\",\"RetryAttempts\":0,\"RouterName\":\"api@docker\",\"ServiceAddr\":\"10.0.0.8:8080\",\"ServiceName\":\"api@docker\",\"StartUTC\":\"2026-11-21T05:41:36.5Z\",\"entryPointName\":\"websecure\",\"level\":\"info\",\"msg\":\"\",\"time\":\"2026-11-21T05:41:36Z\"}"

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:36.5Z"
    fields = {
      authority = "api.example.com"
      backend = "api@docker"
      bytes_received = 88
      bytes_sent = 312
      client_ip = "198.51.100.7"
      client_port = 40222
      duration_ms = 47
      frontend = "websecure"
      method = "POST"
      mode = "http"
      path = "/v1/orders"
      protocol = "HTTP/1.1"
      proxy = "traefik"
      retries = 0
      router = "api@docker"
      scheme = "https"
      start_time = "2026-11-21T05:41:36.5Z"
      status = 201
      upstream = "10.0.0.8:8080"
      upstream_ms = 45
      upstream_status = 201
    }
  }
}

test "traefik_not_found" {
  transform = transform.traefik
  input     = "{\"ClientAddr\":\"192.0.2.66:40000\",\"ClientHost\":\"192.0.2.66\",\"ClientPort\":\"40000\",\"ClientUsername\":\"-\",\"DownstreamContentSize\":19,\"DownstreamStatus\":404,\"Duration\":150000,\"OriginContentSize\":0,\"OriginDuration\":0,\"OriginStatus\":0,\"Overhead\":150000,\"RequestAddr\":\"203.0.113.1\",\"RequestContentSize\":0,\"RequestCount\":44,\"RequestHost\":\"203.0.113.1\",\"RequestMethod\":\"GET\",\"RequestPath\":\"/wp-login.php\",\"RequestPort\":\"-\",\"RequestProtocol\":\"HTTP/1.1\",\"RequestScheme\":\"http\",\"RetryAttempts\":0,\"StartUTC\":\"2026-11-21T05:41:37Z\",\"entryPointName\":\"web\",\"level\":\"info\",\"msg\":\"\",\"time\":\"2026-11-21T05:41:37Z\"}"

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:37Z"
    fields = {
      authority = "203.0.113.1"
      bytes_received = 0
      bytes_sent = 19
      client_ip = "192.0.2.66"
      client_port = 40000
      duration_ms = 0.15
      frontend = "web"
      method = "GET"
      mode = "http"
      path = "/wp-login.php"
      protocol = "HTTP/1.1"
      proxy = "traefik"
      retries = 0
      scheme = "http"
      start_time = "2026-11-21T05:41:37Z"
      status = 404
      upstream_ms = 0
      upstream_status = 0
    }
  }
}

test "traefik_redirect" {
  transform = transform.traefik
  input     = "{\"ClientAddr\":\"192.0.2.67:40001\",\"ClientHost\":\"192.0.2.67\",\"ClientPort\":\"40001\",\"ClientUsername\":\"-\",\"DownstreamContentSize\":17,\"DownstreamStatus\":301,\"Duration\":90000,\"OriginContentSize\":0,\"OriginDuration\":0,\"OriginStatus\":0,\"RequestAddr\":\"app.example.com\",\"RequestContentSize\":0,\"RequestCount\":45,\"RequestHost\":\"app.example.com\",\"RequestMethod\":\"GET\",\"RequestPath\":\"/\",\"RequestPort\":\"-\",\"RequestProtocol\":\"HTTP/1.1\",\"RequestScheme\":\"http\",\"RetryAttempts\":0,\"RouterName\":\"web-to-websecure@file\",\"StartUTC\":\"2026-11-21T05:41:38Z\",\"entryPointName\":\"web\",\"level\":\"info\",\"msg\":\"\",\"time\":\"2026-11-21T05:41:38Z\"}"

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:38Z"
    fields = {
      authority = "app.example.com"
      bytes_received = 0
      bytes_sent = 17
      client_ip = "192.0.2.67"
      client_port = 40001
      duration_ms = 0.09
      frontend = "web"
      method = "GET"
      mode = "http"
      path = "/"
      protocol = "HTTP/1.1"
      proxy = "traefik"
      retries = 0
      router = "web-to-websecure@file"
      scheme = "http"
      start_time = "2026-11-21T05:41:38Z"
      status = 301
      upstream_ms = 0
      upstream_status = 0
    }
  }
}

test "traefik_bad_gateway_retried" {
  transform = transform.traefik
  input     = "{\"ClientAddr\":\"203.0.113.9:52400\",\"ClientHost\":\"203.0.113.9\",\"ClientPort\":\"52400\",\"ClientUsername\":\"-\",\"DownstreamContentSize\":11,\"DownstreamStatus\":502,\"Duration\":3012000000,\"OriginContentSize\":11,\"OriginDuration\":3010000000,\"OriginStatus\":502,\"RequestAddr\":\"app.example.com\",\"RequestContentSize\":0,\"RequestCount\":46,\"RequestHost\":\"app.example.com\",\"RequestMethod\":\"GET\",\"RequestPath\":\"/report\",\"RequestPort\":\"-\",\"RequestProtocol\":\"HTTP/2.0\",\"RequestScheme\":\"https\",\"RetryAttempts\":2,\"RouterName\":\"app@kubernetescrd\",\"ServiceAddr\":\"10.244.2.3:8080\",\"ServiceName\":\"shop-app-8080@kubernetescrd\",\"StartUTC\":\"2026-11-21T05:41:39Z\",\"TLSCipher\":\"TLS_AES_128_GCM_SHA256\",\"TLSVersion\":\"1.3\",\"entryPointName\":\"websecure\",\"level\":\"info\",\"msg\":\"\",\"time\":\"2026-11-21T05:41:42Z\"}"

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:39Z"
    fields = {
      authority = "app.example.com"
      backend = "shop-app-8080@kubernetescrd"
      bytes_received = 0
      bytes_sent = 11
      client_ip = "203.0.113.9"
      client_port = 52400
      duration_ms = 3012
      frontend = "websecure"
      method = "GET"
      mode = "http"
      path = "/report"
      protocol = "HTTP/2.0"
      proxy = "traefik"
      retries = 2
      router = "app@kubernetescrd"
      scheme = "https"
      start_time = "2026-11-21T05:41:39Z"
      status = 502
      tls_cipher = "TLS_AES_128_GCM_SHA256"
      tls_version = "1.3"
      upstream = "10.244.2.3:8080"
      upstream_ms = 3010
      upstream_status = 502
    }
  }
}

test "traefik_basic_auth_user" {
  transform = transform.traefik
  input     = "{\"ClientAddr\":\"10.0.3.14:51000\",\"ClientHost\":\"10.0.3.14\",\"ClientPort\":\"51000\",\"ClientUsername\":\"admin\",\"DownstreamContentSize\":2048,\"DownstreamStatus\":200,\"Duration\":2000000,\"OriginContentSize\":2048,\"OriginDuration\":1500000,\"OriginStatus\":200,\"RequestAddr\":\"traefik.example.com\",\"RequestContentSize\":0,\"RequestCount\":47,\"RequestHost\":\"traefik.example.com\",\"RequestMethod\":\"GET\",\"RequestPath\":\"/dashboard/\",\"RequestPort\":\"-\",\"RequestProtocol\":\"HTTP/1.1\",\"RequestScheme\":\"https\",\"RetryAttempts\":0,\"RouterName\":\"dashboard@file\",\"ServiceName\":\"api@internal\",\"StartUTC\":\"2026-11-21T05:41:40Z\",\"entryPointName\":\"websecure\",\"level\":\"info\",\"msg\":\"\",\"time\":\"2026-11-21T05:41:40Z\"}"

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:40Z"
    fields = {
      authority = "traefik.example.com"
      backend = "api@internal"
      bytes_received = 0
      bytes_sent = 2048
      client_ip = "10.0.3.14"
      client_port = 51000
      client_user = "admin"
      duration_ms = 2
      frontend = "websecure"
      method = "GET"
      mode = "http"
      path = "/dashboard/"
      protocol = "HTTP/1.1"
      proxy = "traefik"
      retries = 0
      router = "dashboard@file"
      scheme = "https"
      start_time = "2026-11-21T05:41:40Z"
      status = 200
      upstream_ms = 1.5
      upstream_status = 200
    }
  }
}

test "traefik_ipv6_with_headers" {
  transform = transform.traefik
  input     = "{\"ClientAddr\":\"[2001:db8::1]:40422\",\"ClientHost\":\"2001:db8::1\",\"ClientPort\":\"40422\",\"ClientUsername\":\"-\",\"DownstreamContentSize\":0,\"DownstreamStatus\":204,\"Duration\":3000000,\"OriginContentSize\":0,\"OriginDuration\":2500000,\"OriginStatus\":204,\"RequestAddr\":\"api.example.com\",\"RequestContentSize\":0,\"RequestCount\":48,\"RequestHost\":\"api.example.com\",\"RequestMethod\":\"OPTIONS\",\"RequestPath\":\"/v1/items\",\"RequestPort\":\"-\",\"RequestProtocol\":\"HTTP/2.0\",\"RequestScheme\":\"https\",\"RetryAttempts\":0,\"RouterName\":\"api@docker\",\"ServiceAddr\":\"10.0.0.7:8080\",\"ServiceName\":\"api@docker\",\"StartUTC\":\"2026-11-21T05:41:41Z\",\"entryPointName\":\"websecure\",\"level\":\"info\",\"msg\":\"\",\"request_User-Agent\":\"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15\",\"request_X-Forwarded-For\":\"2001:db8::1\",\"request_X-Request-Id\":\"5f0d3c2a-1b2c-4d3e-8f9a-0b1c2d3e4f5a\",\"downstream_Content-Type\":\"text/plain\",\"time\":\"2026-11-21T05:41:41Z\"}"

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:41Z"
    fields = {
      authority = "api.example.com"
      backend = "api@docker"
      bytes_received = 0
      bytes_sent = 0
      client_ip = "2001:db8::1"
      client_port = 40422
      duration_ms = 3
      forwarded_for = "2001:db8::1"
      frontend = "websecure"
      method = "OPTIONS"
      mode = "http"
      path = "/v1/items"
      protocol = "HTTP/2.0"
      proxy = "traefik"
      request_id = "5f0d3c2a-1b2c-4d3e-8f9a-0b1c2d3e4f5a"
      retries = 0
      router = "api@docker"
      scheme = "https"
      start_time = "2026-11-21T05:41:41Z"
      status = 204
      upstream = "10.0.0.7:8080"
      upstream_ms = 2.5
      upstream_status = 204
      user_agent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"
    }
  }
}

test "traefik_websocket" {
  transform = transform.traefik
  input     = "{\"ClientAddr\":\"203.0.113.20:60000\",\"ClientHost\":\"203.0.113.20\",\"ClientPort\":\"60000\",\"ClientUsername\":\"-\",\"DownstreamContentSize\":0,\"DownstreamStatus\":101,\"Duration\":600000000000,\"OriginContentSize\":0,\"OriginDuration\":599999000000,\"OriginStatus\":101,\"RequestAddr\":\"ws.example.com\",\"RequestContentSize\":0,\"RequestCount\":49,\"RequestHost\":\"ws.example.com\",\"RequestMethod\":\"GET\",\"RequestPath\":\"/socket\",\"RequestPort\":\"-\",\"RequestProtocol\":\"HTTP/1.1\",\"RequestScheme\":\"https\",\"RetryAttempts\":0,\"RouterName\":\"ws@docker\",\"ServiceAddr\":\"10.0.0.9:3000\",\"ServiceName\":\"ws@docker\",\"StartUTC\":\"2026-11-21T05:31:41Z\",\"entryPointName\":\"websecure\",\"level\":\"info\",\"msg\":\"\",\"time\":\"2026-11-21T05:41:41Z\"}"

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:31:41Z"
    fields = {
      authority = "ws.example.com"
      backend = "ws@docker"
      bytes_received = 0
      bytes_sent = 0
      client_ip = "203.0.113.20"
      client_port = 60000
      duration_ms = 600000
      frontend = "websecure"
      method = "GET"
      mode = "http"
      path = "/socket"
      protocol = "HTTP/1.1"
      proxy = "traefik"
      retries = 0
      router = "ws@docker"
      scheme = "https"
      start_time = "2026-11-21T05:31:41Z"
      status = 101
      upstream = "10.0.0.9:3000"
      upstream_ms = 599999
      upstream_status = 101
    }
  }
}

test "traefik_grpc" {
  transform = transform.traefik
  input     = "{\"ClientAddr\":\"10.244.0.5:38017\",\"ClientHost\":\"10.244.0.5\",\"ClientPort\":\"38017\",\"ClientUsername\":\"-\",\"DownstreamContentSize\":12,\"DownstreamStatus\":200,\"Duration\":7000000,\"OriginContentSize\":12,\"OriginDuration\":6000000,\"OriginStatus\":200,\"RequestAddr\":\"cart.example.com\",\"RequestContentSize\":48,\"RequestCount\":50,\"RequestHost\":\"cart.example.com\",\"RequestMethod\":\"POST\",\"RequestPath\":\"/shop.v1.Cart/AddItem\",\"RequestPort\":\"-\",\"RequestProtocol\":\"HTTP/2.0\",\"RequestScheme\":\"https\",\"RetryAttempts\":0,\"RouterName\":\"cart@kubernetescrd\",\"ServiceAddr\":\"10.244.3.4:9090\",\"ServiceName\":\"shop-cart-9090@kubernetescrd\",\"StartUTC\":\"2026-11-21T05:41:43Z\",\"entryPointName\":\"websecure\",\"level\":\"info\",\"msg\":\"\",\"time\":\"2026-11-21T05:41:43Z\"}"

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:43Z"
    fields = {
      authority = "cart.example.com"
      backend = "shop-cart-9090@kubernetescrd"
      bytes_received = 48
      bytes_sent = 12
      client_ip = "10.244.0.5"
      client_port = 38017
      duration_ms = 7
      frontend = "websecure"
      method = "POST"
      mode = "http"
      path = "/shop.v1.Cart/AddItem"
      protocol = "HTTP/2.0"
      proxy = "traefik"
      retries = 0
      router = "cart@kubernetescrd"
      scheme = "https"
      start_time = "2026-11-21T05:41:43Z"
      status = 200
      upstream = "10.244.3.4:9090"
      upstream_ms = 6
      upstream_status = 200
    }
  }
}

test "traefik_rate_limited" {
  transform = transform.traefik
  input     = "{\"ClientAddr\":\"192.0.2.70:41000\",\"ClientHost\":\"192.0.2.70\",\"ClientPort\":\"41000\",\"ClientUsername\":\"-\",\"DownstreamContentSize\":17,\"DownstreamStatus\":429,\"Duration\":50000,\"OriginContentSize\":0,\"OriginDuration\":0,\"OriginStatus\":0,\"RequestAddr\":\"api.example.com\",\"RequestContentSize\":0,\"RequestCount\":51,\"RequestHost\":\"api.example.com\",\"RequestMethod\":\"GET\",\"RequestPath\":\"/v1/items\",\"RequestPort\":\"-\",\"RequestProtocol\":\"HTTP/1.1\",\"RequestScheme\":\"https\",\"RetryAttempts\":0,\"RouterName\":\"api@docker\",\"StartUTC\":\"2026-11-21T05:41:44Z\",\"entryPointName\":\"websecure\",\"level\":\"info\",\"msg\":\"\",\"time\":\"2026-11-21T05:41:44Z\"}"

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:44Z"
    fields = {
      authority = "api.example.com"
      bytes_received = 0
      bytes_sent = 17
      client_ip = "192.0.2.70"
      client_port = 41000
      duration_ms = 0.05
      frontend = "websecure"
      method = "GET"
      mode = "http"
      path = "/v1/items"
      protocol = "HTTP/1.1"
      proxy = "traefik"
      retries = 0
      router = "api@docker"
      scheme = "https"
      start_time = "2026-11-21T05:41:44Z"
      status = 429
      upstream_ms = 0
      upstream_status = 0
    }
  }
}

test "traefik_minimal_fields" {
  transform = transform.traefik
  input     = "{\"ClientHost\":\"203.0.113.9\",\"DownstreamStatus\":200,\"Duration\":1000000,\"RequestMethod\":\"HEAD\",\"RequestPath\":\"/\",\"StartUTC\":\"2026-11-21T05:41:45Z\"}"

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:45Z"
    fields = {
      client_ip = "203.0.113.9"
      duration_ms = 1
      method = "HEAD"
      mode = "http"
      path = "/"
      proxy = "traefik"
      start_time = "2026-11-21T05:41:45Z"
      status = 200
    }
  }
}

test "traefik_server_error" {
  transform = transform.traefik
  input     = "{\"ClientAddr\":\"198.51.100.8:33002\",\"ClientHost\":\"198.51.100.8\",\"ClientPort\":\"33002\",\"ClientUsername\":\"-\",\"DownstreamContentSize\":91,\"DownstreamStatus\":500,\"Duration\":151000000,\"OriginContentSize\":91,\"OriginDuration\":150000000,\"OriginStatus\":500,\"RequestAddr\":\"api.example.com\",\"RequestContentSize\":120,\"RequestCount\":52,\"RequestHost\":\"api.example.com\",\"RequestMethod\":\"PUT\",\"RequestPath\":\"/v1/cart/42\",\"RequestPort\":\"-\",\"RequestProtocol\":\"HTTP/1.1\",\"RequestScheme\":\"https\",\"RetryAttempts\":0,\"RouterName\":\"api@docker\",\"ServiceAddr\":\"10.0.0.8:8080\",\"ServiceName\":\"api@docker\",\"StartUTC\":\"2026-11-21T05:41:46Z\",\"entryPointName\":\"websecure\",\"level\":\"info\",\"msg\":\"\",\"time\":\"2026-11-21T05:41:46Z\"}"

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:46Z"
    fields = {
      authority = "api.example.com"
      backend = "api@docker"
      bytes_received = 120
      bytes_sent = 91
      client_ip = "198.51.100.8"
      client_port = 33002
      duration_ms = 151
      frontend = "websecure"
      method = "PUT"
      mode = "http"
      path = "/v1/cart/42"
      protocol = "HTTP/1.1"
      proxy = "traefik"
      retries = 0
      router = "api@docker"
      scheme = "https"
      start_time = "2026-11-21T05:41:46Z"
      status = 500
      upstream = "10.0.0.8:8080"
      upstream_ms = 150
      upstream_status = 500
    }
  }
}

test "traefik_delete" {
  transform = transform.traefik
  input     = "{\"ClientAddr\":\"203.0.113.9:52500\",\"ClientHost\":\"203.0.113.9\",\"ClientPort\":\"52500\",\"ClientUsername\":\"-\",\"DownstreamContentSize\":0,\"DownstreamStatus\":204,\"Duration\":9000000,\"OriginContentSize\":0,\"OriginDuration\":8500000,\"OriginStatus\":204,\"RequestAddr\":\"api.example.com\",\"RequestContentSize\":0,\"RequestCount\":53,\"RequestHost\":\"api.example.com\",\"RequestMethod\":\"DELETE\",\"RequestPath\":\"/v1/cart/42/items/7\",\"RequestPort\":\"-\",\"RequestProtocol\":\"HTTP/2.0\",\"RequestScheme\":\"https\",\"RetryAttempts\":0,\"RouterName\":\"api@docker\",\"ServiceAddr\":\"10.0.0.7:8080\",\"ServiceName\":\"api@docker\",\"StartUTC\":\"2026-11-21T05:41:47Z\",\"entryPointName\":\"websecure\",\"level\":\"info\",\"msg\":\"\",\"time\":\"2026-11-21T05:41:47Z\"}"

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:47Z"
    fields = {
      authority = "api.example.com"
      backend = "api@docker"
      bytes_received = 0
      bytes_sent = 0
      client_ip = "203.0.113.9"
      client_port = 52500
      duration_ms = 9
      frontend = "websecure"
      method = "DELETE"
      mode = "http"
      path = "/v1/cart/42/items/7"
      protocol = "HTTP/2.0"
      proxy = "traefik"
      retries = 0
      router = "api@docker"
      scheme = "https"
      start_time = "2026-11-21T05:41:47Z"
      status = 204
      upstream = "10.0.0.7:8080"
      upstream_ms = 8.5
      upstream_status = 204
    }
  }
}

test "traefik_put_upload" {
  transform = transform.traefik
  input     = "{\"ClientAddr\":\"198.51.100.9:33010\",\"ClientHost\":\"198.51.100.9\",\"ClientPort\":\"33010\",\"ClientUsername\":\"-\",\"DownstreamContentSize\":64,\"DownstreamStatus\":200,\"Duration\":2500000000,\"OriginContentSize\":64,\"OriginDuration\":2490000000,\"OriginStatus\":200,\"RequestAddr\":\"files.example.com\",\"RequestContentSize\":10485760,\"RequestCount\":54,\"RequestHost\":\"files.example.com\",\"RequestMethod\":\"PUT\",\"RequestPath\":\"/upload/report.pdf\",\"RequestPort\":\"-\",\"RequestProtocol\":\"HTTP/1.1\",\"RequestScheme\":\"https\",\"RetryAttempts\":0,\"RouterName\":\"files@docker\",\"ServiceAddr\":\"10.0.0.10:9000\",\"ServiceName\":\"files@docker\",\"StartUTC\":\"2026-11-21T05:41:48Z\",\"entryPointName\":\"websecure\",\"level\":\"info\",\"msg\":\"\",\"time\":\"2026-11-21T05:41:50Z\"}"

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:48Z"
    fields = {
      authority = "files.example.com"
      backend = "files@docker"
      bytes_received = 10485760
      bytes_sent = 64
      client_ip = "198.51.100.9"
      client_port = 33010
      duration_ms = 2500
      frontend = "websecure"
      method = "PUT"
      mode = "http"
      path = "/upload/report.pdf"
      protocol = "HTTP/1.1"
      proxy = "traefik"
      retries = 0
      router = "files@docker"
      scheme = "https"
      start_time = "2026-11-21T05:41:48Z"
      status = 200
      upstream = "10.0.0.10:9000"
      upstream_ms = 2490
      upstream_status = 200
    }
  }
}

test "traefik_gateway_timeout" {
  transform = transform.traefik
  input     = "{\"ClientAddr\":\"203.0.113.30:52600\",\"ClientHost\":\"203.0.113.30\",\"ClientPort\":\"52600\",\"ClientUsername\":\"-\",\"DownstreamContentSize\":15,\"DownstreamStatus\":504,\"Duration\":30001000000,\"OriginContentSize\":0,\"OriginDuration\":30000000000,\"OriginStatus\":0,\"RequestAddr\":\"app.example.com\",\"RequestContentSize\":0,\"RequestCount\":55,\"RequestHost\":\"app.example.com\",\"RequestMethod\":\"GET\",\"RequestPath\":\"/slow\",\"RequestPort\":\"-\",\"RequestProtocol\":\"HTTP/1.1\",\"RequestScheme\":\"https\",\"RetryAttempts\":0,\"RouterName\":\"app@kubernetescrd\",\"ServiceAddr\":\"10.244.2.3:8080\",\"ServiceName\":\"shop-app-8080@kubernetescrd\",\"StartUTC\":\"2026-11-21T05:41:49Z\",\"entryPointName\":\"websecure\",\"level\":\"info\",\"msg\":\"\",\"time\":\"2026-11-21T05:42:19Z\"}"

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:49Z"
    fields = {
      authority = "app.example.com"
      backend = "shop-app-8080@kubernetescrd"
      bytes_received = 0
      bytes_sent = 15
      client_ip = "203.0.113.30"
      client_port = 52600
      duration_ms = 30001
      frontend = "websecure"
      method = "GET"
      mode = "http"
      path = "/slow"
      protocol = "HTTP/1.1"
      proxy = "traefik"
      retries = 0
      router = "app@kubernetescrd"
      scheme = "https"
      start_time = "2026-11-21T05:41:49Z"
      status = 504
      upstream = "10.244.2.3:8080"
      upstream_ms = 30000
      upstream_status = 0
    }
  }
}

test "traefik_patch" {
  transform = transform.traefik
  input     = "{\"ClientAddr\":\"10.0.3.15:51001\",\"ClientHost\":\"10.0.3.15\",\"ClientPort\":\"51001\",\"ClientUsername\":\"-\",\"DownstreamContentSize\":256,\"DownstreamStatus\":200,\"Duration\":11000000,\"OriginContentSize\":256,\"OriginDuration\":10000000,\"OriginStatus\":200,\"RequestAddr\":\"api.example.com\",\"RequestContentSize\":64,\"RequestCount\":56,\"RequestHost\":\"api.example.com\",\"RequestMethod\":\"PATCH\",\"RequestPath\":\"/v1/users/7\",\"RequestPort\":\"-\",\"RequestProtocol\":\"HTTP/1.1\",\"RequestScheme\":\"https\",\"RetryAttempts\":0,\"RouterName\":\"api@docker\",\"ServiceAddr\":\"10.0.0.8:8080\",\"ServiceName\":\"api@docker\",\"StartUTC\":\"2026-11-21T05:41:50Z\",\"entryPointName\":\"websecure\",\"level\":\"info\",\"msg\":\"\",\"time\":\"2026-11-21T05:41:50Z\"}"

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:50Z"
    fields = {
      authority = "api.example.com"
      backend = "api@docker"
      bytes_received = 64
      bytes_sent = 256
      client_ip = "10.0.3.15"
      client_port = 51001
      duration_ms = 11
      frontend = "websecure"
      method = "PATCH"
      mode = "http"
      path = "/v1/users/7"
      protocol = "HTTP/1.1"
      proxy = "traefik"
      retries = 0
      router = "api@docker"
      scheme = "https"
      start_time = "2026-11-21T05:41:50Z"
      status = 200
      upstream = "10.0.0.8:8080"
      upstream_ms = 10
      upstream_status = 200
    }
  }
}

# Traefik's general (non-access) log lines in JSON, which land in the same
# stream in a container: no StartUTC, dead-lettered; and malformed lines.
test "traefik_traefik_general_log" {
  transform = transform.traefik
  input     = "{\"level\":\"info\",\"msg\":\"Configuration loaded from flags.\",\"time\":\"2026-11-21T05:41:30Z\"}"

  expect_dead_letter {
    reason = "timestamp"
    step   = "timestamp"
    error  = "required by timestamp, missing"
  }
}

test "traefik_common_format" {
  transform = transform.traefik
  input     = "203.0.113.9 - - [21/Nov/2026:05:41:35 +0000] \"GET /v1/items HTTP/2.0\" 200 5120 \"-\" \"curl/8.5.0\" 42 \"api@docker\" \"http://10.0.0.7:8080\" 13ms"

  expect_dead_letter {
    reason = "jq"
    step   = "jq"
    error  = "fromjson cannot be applied to: string (\"203.0.113.9 - - [21/"
  }
}

test "traefik_cut_json" {
  transform = transform.traefik
  input     = "{\"ClientAddr\":\"203.0.113.9:52311\",\"ClientHost\":\"203.0.113.9\",\"DownstreamStatus\":200,\"Duration\":134"

  expect_dead_letter {
    reason = "jq"
    step   = "jq"
    error  = "fromjson cannot be applied to \"{\\\"ClientAddr\\\":\\\"203.0. ...\""
  }
}

test "traefik_bad_status" {
  transform = transform.traefik
  input     = "{\"ClientHost\":\"203.0.113.9\",\"DownstreamStatus\":999,\"Duration\":1000000,\"RequestMethod\":\"GET\",\"RequestPath\":\"/\",\"StartUTC\":\"2026-11-21T05:41:45Z\"}"

  expect_dead_letter {
    reason = "schema"
    step   = "schema"
    error  = "value 999 is above the maximum 599"
  }
}

