# Tests of the envoy pack: Envoy's default text format, Istio's text
# format and JSON with Istio's keys (each group names its source), then
# malformed lines.
# Envoy's default format: the example of Envoy's documentation ("Access
# logging", Default format string) and lines of the same format with the
# response flags of its table (UH, UF, URX, NR, DC, UT, RL).
test "envoy_doc_default" {
  transform = transform.envoy
  input     = "[2016-04-15T20:17:00.310Z] \"POST /api/v1/locations HTTP/2\" 204 - 154 0 226 100 \"10.0.35.28\" \"nsq2http\" \"cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2\" \"locations\" \"tcp://10.0.2.1:80\""

  expect {
    kind = "proxy_access"
    time = "2016-04-15T20:17:00.31Z"
    fields = {
      authority = "locations"
      bytes_received = 154
      bytes_sent = 0
      duration_ms = 226
      forwarded_for = "10.0.35.28"
      method = "POST"
      mode = "http"
      path = "/api/v1/locations"
      protocol = "HTTP/2"
      proxy = "envoy"
      request_id = "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2"
      start_time = "2016-04-15T20:17:00.310Z"
      status = 204
      upstream = "tcp://10.0.2.1:80"
      upstream_ms = 100
      user_agent = "nsq2http"
    }
  }
}

test "envoy_get_ok" {
  transform = transform.envoy
  input     = "[2026-11-21T05:41:35.123Z] \"GET /v1/items?page=2 HTTP/1.1\" 200 - 0 5120 13 12 \"203.0.113.9\" \"curl/8.5.0\" \"5f0d3c2a-1b2c-4d3e-8f9a-0b1c2d3e4f5a\" \"api.example.com\" \"10.244.1.7:8080\""

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:35.123Z"
    fields = {
      authority = "api.example.com"
      bytes_received = 0
      bytes_sent = 5120
      duration_ms = 13
      forwarded_for = "203.0.113.9"
      method = "GET"
      mode = "http"
      path = "/v1/items?page=2"
      protocol = "HTTP/1.1"
      proxy = "envoy"
      request_id = "5f0d3c2a-1b2c-4d3e-8f9a-0b1c2d3e4f5a"
      start_time = "2026-11-21T05:41:35.123Z"
      status = 200
      upstream = "10.244.1.7:8080"
      upstream_ms = 12
      user_agent = "curl/8.5.0"
    }
  }
}

test "envoy_no_healthy_upstream" {
  transform = transform.envoy
  input     = "[2026-11-21T05:41:36.000Z] \"GET /v1/items HTTP/1.1\" 503 UH 0 19 0 - \"203.0.113.9\" \"curl/8.5.0\" \"6a1e4d3b-2c3d-4e4f-9a0b-1c2d3e4f5a6b\" \"api.example.com\" \"-\""

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:36Z"
    fields = {
      authority = "api.example.com"
      bytes_received = 0
      bytes_sent = 19
      duration_ms = 0
      forwarded_for = "203.0.113.9"
      method = "GET"
      mode = "http"
      path = "/v1/items"
      protocol = "HTTP/1.1"
      proxy = "envoy"
      request_id = "6a1e4d3b-2c3d-4e4f-9a0b-1c2d3e4f5a6b"
      response_flags = "UH"
      start_time = "2026-11-21T05:41:36.000Z"
      status = 503
      user_agent = "curl/8.5.0"
    }
  }
}

test "envoy_upstream_connect_failure" {
  transform = transform.envoy
  input     = "[2026-11-21T05:41:37.000Z] \"GET /v1/items HTTP/1.1\" 503 UF,URX 0 91 1001 - \"203.0.113.9\" \"curl/8.5.0\" \"7b2f5e4c-3d4e-4f5a-8b1c-2d3e4f5a6b7c\" \"api.example.com\" \"10.244.1.8:8080\""

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:37Z"
    fields = {
      authority = "api.example.com"
      bytes_received = 0
      bytes_sent = 91
      duration_ms = 1001
      forwarded_for = "203.0.113.9"
      method = "GET"
      mode = "http"
      path = "/v1/items"
      protocol = "HTTP/1.1"
      proxy = "envoy"
      request_id = "7b2f5e4c-3d4e-4f5a-8b1c-2d3e4f5a6b7c"
      response_flags = "UF,URX"
      start_time = "2026-11-21T05:41:37.000Z"
      status = 503
      upstream = "10.244.1.8:8080"
      user_agent = "curl/8.5.0"
    }
  }
}

test "envoy_no_route" {
  transform = transform.envoy
  input     = "[2026-11-21T05:41:38.000Z] \"GET /nowhere HTTP/1.1\" 404 NR 0 0 0 - \"-\" \"Go-http-client/1.1\" \"8c3a6f5d-4e5f-4a6b-9c2d-3e4f5a6b7c8d\" \"api.example.com\" \"-\""

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:38Z"
    fields = {
      authority = "api.example.com"
      bytes_received = 0
      bytes_sent = 0
      duration_ms = 0
      method = "GET"
      mode = "http"
      path = "/nowhere"
      protocol = "HTTP/1.1"
      proxy = "envoy"
      request_id = "8c3a6f5d-4e5f-4a6b-9c2d-3e4f5a6b7c8d"
      response_flags = "NR"
      start_time = "2026-11-21T05:41:38.000Z"
      status = 404
      user_agent = "Go-http-client/1.1"
    }
  }
}

test "envoy_downstream_disconnect" {
  transform = transform.envoy
  input     = "[2026-11-21T05:41:39.000Z] \"POST /v1/upload HTTP/1.1\" 0 DC 1048576 0 2500 - \"198.51.100.7\" \"python-requests/2.32.3\" \"9d4b7a6e-5f6a-4b7c-8d3e-4f5a6b7c8d9e\" \"api.example.com\" \"10.244.1.7:8080\""

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:39Z"
    fields = {
      authority = "api.example.com"
      bytes_received = 1048576
      bytes_sent = 0
      duration_ms = 2500
      forwarded_for = "198.51.100.7"
      method = "POST"
      mode = "http"
      path = "/v1/upload"
      protocol = "HTTP/1.1"
      proxy = "envoy"
      request_id = "9d4b7a6e-5f6a-4b7c-8d3e-4f5a6b7c8d9e"
      response_flags = "DC"
      start_time = "2026-11-21T05:41:39.000Z"
      status = 0
      upstream = "10.244.1.7:8080"
      user_agent = "python-requests/2.32.3"
    }
  }
}

test "envoy_upstream_timeout" {
  transform = transform.envoy
  input     = "[2026-11-21T05:41:40.000Z] \"GET /v1/report HTTP/1.1\" 504 UT 0 24 15000 - \"198.51.100.8\" \"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\" \"ae5c8b7f-6a7b-4c8d-9e4f-5a6b7c8d9e0f\" \"app.example.com\" \"10.244.2.3:8080\""

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:40Z"
    fields = {
      authority = "app.example.com"
      bytes_received = 0
      bytes_sent = 24
      duration_ms = 15000
      forwarded_for = "198.51.100.8"
      method = "GET"
      mode = "http"
      path = "/v1/report"
      protocol = "HTTP/1.1"
      proxy = "envoy"
      request_id = "ae5c8b7f-6a7b-4c8d-9e4f-5a6b7c8d9e0f"
      response_flags = "UT"
      start_time = "2026-11-21T05:41:40.000Z"
      status = 504
      upstream = "10.244.2.3:8080"
      user_agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
    }
  }
}

test "envoy_rate_limited" {
  transform = transform.envoy
  input     = "[2026-11-21T05:41:41.000Z] \"GET /v1/items HTTP/2\" 429 RL 0 18 1 - \"192.0.2.66\" \"k6/0.54.0\" \"bf6d9c8a-7b8c-4d9e-8f5a-6b7c8d9e0f1a\" \"api.example.com\" \"-\""

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:41Z"
    fields = {
      authority = "api.example.com"
      bytes_received = 0
      bytes_sent = 18
      duration_ms = 1
      forwarded_for = "192.0.2.66"
      method = "GET"
      mode = "http"
      path = "/v1/items"
      protocol = "HTTP/2"
      proxy = "envoy"
      request_id = "bf6d9c8a-7b8c-4d9e-8f5a-6b7c8d9e0f1a"
      response_flags = "RL"
      start_time = "2026-11-21T05:41:41.000Z"
      status = 429
      user_agent = "k6/0.54.0"
    }
  }
}

test "envoy_grpc" {
  transform = transform.envoy
  input     = "[2026-11-21T05:41:42.000Z] \"POST /shop.v1.Cart/AddItem HTTP/2\" 200 - 48 12 7 6 \"-\" \"grpc-go/1.68.0\" \"c07eab9b-8c9d-4e0f-9a6b-7c8d9e0f1a2b\" \"cart.shop.svc.cluster.local:9090\" \"10.244.3.4:9090\""

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:42Z"
    fields = {
      authority = "cart.shop.svc.cluster.local:9090"
      bytes_received = 48
      bytes_sent = 12
      duration_ms = 7
      method = "POST"
      mode = "http"
      path = "/shop.v1.Cart/AddItem"
      protocol = "HTTP/2"
      proxy = "envoy"
      request_id = "c07eab9b-8c9d-4e0f-9a6b-7c8d9e0f1a2b"
      start_time = "2026-11-21T05:41:42.000Z"
      status = 200
      upstream = "10.244.3.4:9090"
      upstream_ms = 6
      user_agent = "grpc-go/1.68.0"
    }
  }
}

test "envoy_tcp_proxy" {
  transform = transform.envoy
  input     = "[2026-11-21T05:41:43.000Z] \"- - -\" 0 - 1024 4096 60012 - \"-\" \"-\" \"-\" \"-\" \"10.244.4.5:5432\""

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:43Z"
    fields = {
      bytes_received = 1024
      bytes_sent = 4096
      duration_ms = 60012
      mode = "tcp"
      proxy = "envoy"
      start_time = "2026-11-21T05:41:43.000Z"
      status = 0
      upstream = "10.244.4.5:5432"
    }
  }
}

# Istio's text format (Istio documentation, "Envoy Access Logs": the
# example, then lines of the same format).
test "envoy_istio_doc" {
  transform = transform.envoy
  input     = "[2020-11-25T21:26:18.409Z] \"GET /status/418 HTTP/1.1\" 418 - via_upstream - \"-\" 0 135 4 4 \"-\" \"curl/7.73.0-DEV\" \"84961386-6d84-929d-98bd-c5aee93b5c88\" \"httpbin:8000\" \"10.44.1.27:80\" outbound|8000||httpbin.foo.svc.cluster.local 10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default"

  expect {
    kind = "proxy_access"
    time = "2020-11-25T21:26:18.409Z"
    fields = {
      authority = "httpbin:8000"
      bytes_received = 0
      bytes_sent = 135
      client_ip = "10.44.1.23"
      client_port = 46520
      connection_termination_details = "-"
      downstream_local_address = "10.0.45.184:8000"
      duration_ms = 4
      method = "GET"
      mode = "http"
      path = "/status/418"
      protocol = "HTTP/1.1"
      proxy = "envoy"
      request_id = "84961386-6d84-929d-98bd-c5aee93b5c88"
      response_code_details = "via_upstream"
      route_name = "default"
      server_name = "-"
      start_time = "2020-11-25T21:26:18.409Z"
      status = 418
      upstream = "10.44.1.27:80"
      upstream_cluster = "outbound|8000||httpbin.foo.svc.cluster.local"
      upstream_failure = "-"
      upstream_local_address = "10.44.1.23:37652"
      upstream_ms = 4
      user_agent = "curl/7.73.0-DEV"
    }
  }
}

test "envoy_istio_inbound" {
  transform = transform.envoy
  input     = "[2026-11-21T05:41:44.000Z] \"GET /productpage HTTP/1.1\" 200 - via_upstream - \"-\" 0 5293 35 34 \"10.244.0.1\" \"Mozilla/5.0\" \"d18fbcac-9d0e-4f1a-8b7c-8d9e0f1a2b3c\" \"bookinfo.example.com\" \"10.244.1.10:9080\" inbound|9080|| 127.0.0.6:51313 10.244.1.10:9080 10.244.0.1:0 outbound_.9080_._.productpage.default.svc.cluster.local default"

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:44Z"
    fields = {
      authority = "bookinfo.example.com"
      bytes_received = 0
      bytes_sent = 5293
      client_ip = "10.244.0.1"
      client_port = 0
      connection_termination_details = "-"
      downstream_local_address = "10.244.1.10:9080"
      duration_ms = 35
      forwarded_for = "10.244.0.1"
      method = "GET"
      mode = "http"
      path = "/productpage"
      protocol = "HTTP/1.1"
      proxy = "envoy"
      request_id = "d18fbcac-9d0e-4f1a-8b7c-8d9e0f1a2b3c"
      response_code_details = "via_upstream"
      route_name = "default"
      server_name = "outbound_.9080_._.productpage.default.svc.cluster.local"
      start_time = "2026-11-21T05:41:44.000Z"
      status = 200
      upstream = "10.244.1.10:9080"
      upstream_cluster = "inbound|9080||"
      upstream_failure = "-"
      upstream_local_address = "127.0.0.6:51313"
      upstream_ms = 34
      user_agent = "Mozilla/5.0"
    }
  }
}

test "envoy_istio_reset" {
  transform = transform.envoy
  input     = "[2026-11-21T05:41:45.000Z] \"GET /reviews/0 HTTP/1.1\" 503 UF upstream_reset_before_response_started{connection_failure} - \"delayed_connect_error:_111\" 0 91 1 - \"-\" \"Go-http-client/1.1\" \"e29acdbd-0e1f-4a2b-9c8d-9e0f1a2b3c4d\" \"reviews:9080\" \"10.244.2.11:9080\" outbound|9080||reviews.default.svc.cluster.local - 10.96.101.7:9080 10.244.1.10:43210 - default"

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:45Z"
    fields = {
      authority = "reviews:9080"
      bytes_received = 0
      bytes_sent = 91
      client_ip = "10.244.1.10"
      client_port = 43210
      connection_termination_details = "-"
      downstream_local_address = "10.96.101.7:9080"
      duration_ms = 1
      method = "GET"
      mode = "http"
      path = "/reviews/0"
      protocol = "HTTP/1.1"
      proxy = "envoy"
      request_id = "e29acdbd-0e1f-4a2b-9c8d-9e0f1a2b3c4d"
      response_code_details = "upstream_reset_before_response_started{connection_failure}"
      response_flags = "UF"
      route_name = "default"
      server_name = "-"
      start_time = "2026-11-21T05:41:45.000Z"
      status = 503
      upstream = "10.244.2.11:9080"
      upstream_cluster = "outbound|9080||reviews.default.svc.cluster.local"
      upstream_failure = "delayed_connect_error:_111"
      upstream_local_address = "-"
      user_agent = "Go-http-client/1.1"
    }
  }
}

# Malformed: not Envoy, a cut line, a status that is not a number.
test "envoy_not_envoy" {
  transform = transform.envoy
  input     = "203.0.113.9 - - [21/Nov/2026:05:41:35 +0000] \"GET / HTTP/1.1\" 200 512 \"-\" \"curl/8.5.0\""

  expect_dead_letter {
    reason = "no_match"
    step   = "parse.regex"
    error  = "no pattern matched (2 tried)"
  }
}

test "envoy_cut" {
  transform = transform.envoy
  input     = "[2026-11-21T05:41:35.123Z] \"GET /v1/items?page=2 HTTP/1.1\" 200 - 0"

  expect_dead_letter {
    reason = "no_match"
    step   = "parse.regex"
    error  = "no pattern matched (2 tried)"
  }
}

test "envoy_bad_status" {
  transform = transform.envoy
  input     = "[2026-11-21T05:41:35.123Z] \"GET / HTTP/1.1\" OK - 0 5120 13 12 \"-\" \"curl/8.5.0\" \"x\" \"api.example.com\" \"10.244.1.7:8080\""

  expect_dead_letter {
    reason = "no_match"
    step   = "parse.regex"
    error  = "no pattern matched (2 tried)"
  }
}


# JSON with Istio's keys (Istio documentation, "Envoy Access Logs",
# accessLogEncoding: JSON), then malformed JSON.
test "envoy_json_ok" {
  transform = transform.envoy_json
  input     = "{\"authority\":\"httpbin:8000\",\"bytes_received\":0,\"bytes_sent\":135,\"connection_termination_details\":null,\"downstream_local_address\":\"10.0.45.184:8000\",\"downstream_remote_address\":\"10.44.1.23:46520\",\"duration\":4,\"method\":\"GET\",\"path\":\"/status/418\",\"protocol\":\"HTTP/1.1\",\"request_id\":\"84961386-6d84-929d-98bd-c5aee93b5c88\",\"requested_server_name\":null,\"response_code\":418,\"response_code_details\":\"via_upstream\",\"response_flags\":\"-\",\"route_name\":\"default\",\"start_time\":\"2020-11-25T21:26:18.409Z\",\"upstream_cluster\":\"outbound|8000||httpbin.foo.svc.cluster.local\",\"upstream_host\":\"10.44.1.27:80\",\"upstream_local_address\":\"10.44.1.23:37652\",\"upstream_service_time\":\"4\",\"upstream_transport_failure_reason\":null,\"user_agent\":\"curl/7.73.0-DEV\",\"x_forwarded_for\":null}"

  expect {
    kind = "proxy_access"
    time = "2020-11-25T21:26:18.409Z"
    fields = {
      authority = "httpbin:8000"
      bytes_received = 0
      bytes_sent = 135
      client_ip = "10.44.1.23"
      client_port = 46520
      duration_ms = 4
      method = "GET"
      mode = "http"
      path = "/status/418"
      protocol = "HTTP/1.1"
      proxy = "envoy"
      request_id = "84961386-6d84-929d-98bd-c5aee93b5c88"
      response_code_details = "via_upstream"
      route_name = "default"
      start_time = "2020-11-25T21:26:18.409Z"
      status = 418
      upstream = "10.44.1.27:80"
      upstream_cluster = "outbound|8000||httpbin.foo.svc.cluster.local"
      upstream_ms = 4
      user_agent = "curl/7.73.0-DEV"
    }
  }
}

test "envoy_json_ipv6" {
  transform = transform.envoy_json
  input     = "{\"authority\":\"api.example.com\",\"bytes_received\":312,\"bytes_sent\":88,\"downstream_remote_address\":\"[2001:db8::1]:40422\",\"duration\":47,\"method\":\"POST\",\"path\":\"/v1/orders\",\"protocol\":\"HTTP/2\",\"request_id\":\"f3bdef0e-1f2a-4b3c-8d9e-0f1a2b3c4d5e\",\"response_code\":201,\"response_flags\":\"-\",\"start_time\":\"2026-11-21T05:41:46.500Z\",\"upstream_host\":\"10.244.1.7:8080\",\"upstream_service_time\":\"45\",\"user_agent\":\"curl/8.5.0\"}"

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:46.5Z"
    fields = {
      authority = "api.example.com"
      bytes_received = 312
      bytes_sent = 88
      client_ip = "2001:db8::1"
      client_port = 40422
      duration_ms = 47
      method = "POST"
      mode = "http"
      path = "/v1/orders"
      protocol = "HTTP/2"
      proxy = "envoy"
      request_id = "f3bdef0e-1f2a-4b3c-8d9e-0f1a2b3c4d5e"
      start_time = "2026-11-21T05:41:46.500Z"
      status = 201
      upstream = "10.244.1.7:8080"
      upstream_ms = 45
      user_agent = "curl/8.5.0"
    }
  }
}

test "envoy_json_tcp" {
  transform = transform.envoy_json
  input     = "{\"bytes_received\":1024,\"bytes_sent\":4096,\"downstream_remote_address\":\"10.244.0.9:51000\",\"duration\":60012,\"method\":null,\"path\":null,\"protocol\":null,\"response_code\":0,\"response_flags\":\"-\",\"start_time\":\"2026-11-21T05:41:47.000Z\",\"upstream_cluster\":\"outbound|5432||db.shop.svc.cluster.local\",\"upstream_host\":\"10.244.4.5:5432\"}"

  expect {
    kind = "proxy_access"
    time = "2026-11-21T05:41:47Z"
    fields = {
      bytes_received = 1024
      bytes_sent = 4096
      client_ip = "10.244.0.9"
      client_port = 51000
      duration_ms = 60012
      mode = "tcp"
      proxy = "envoy"
      start_time = "2026-11-21T05:41:47.000Z"
      status = 0
      upstream = "10.244.4.5:5432"
      upstream_cluster = "outbound|5432||db.shop.svc.cluster.local"
    }
  }
}

test "envoy_json_array" {
  transform = transform.envoy_json
  input     = "[\"not\", \"an\", \"object\"]"

  expect_dead_letter {
    reason = "jq"
    step   = "jq"
    error  = "expected an object but got: array ([\"not\",\"an\",\"object\"])"
  }
}

test "envoy_json_no_time" {
  transform = transform.envoy_json
  input     = "{\"method\":\"GET\",\"path\":\"/\",\"response_code\":200}"

  expect_dead_letter {
    reason = "timestamp"
    step   = "timestamp"
    error  = "required by timestamp, missing"
  }
}

