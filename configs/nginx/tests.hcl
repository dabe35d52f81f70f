test "nginx_ok" {
  transform = transform.nginx_access
  input     = "203.0.113.9 - alice [21/Nov/2026:05:41:35 +0100] \"GET /api/v1/items?page=2 HTTP/1.1\" 200 5120 \"https://www.example.com/\" \"curl/8.5.0\""

  expect {
    kind = "http_request"
    fields = {
      client_ip  = "203.0.113.9"
      user       = "alice"
      time       = "2026-11-21T04:41:35Z"
      method     = "GET"
      path       = "/api/v1/items?page=2"
      protocol   = "HTTP/1.1"
      status     = 200
      bytes      = 5120
      referer    = "https://www.example.com/"
      user_agent = "curl/8.5.0"
    }
    condition = "status >= 200 && status < 300"
  }
}

test "nginx_dashes_are_absent_values" {
  transform = transform.nginx_access
  input     = "2001:db8::1 - - [21/Nov/2026:05:41:35 +0000] \"HEAD / HTTP/2.0\" 304 - \"-\" \"-\""

  expect {
    fields    = { client_ip = "2001:db8::1", status = 304, bytes = 0, method = "HEAD" }
    condition = "user == nil && referer == nil"
  }
}

test "nginx_not_a_number" {
  transform = transform.nginx_access
  input     = "10.0.0.1 - - [21/Nov/2026:05:41:35 +0000] \"GET /broken HTTP/1.1\" abc 12 \"-\" \"curl/8.5.0\""

  expect_dead_letter {
    reason = "no_match"
    step   = "parse.regex"
    error  = "no pattern matched"
  }
}

test "nginx_status_out_of_range" {
  transform = transform.nginx_access
  input     = "10.0.0.1 - - [21/Nov/2026:05:41:35 +0000] \"GET / HTTP/1.1\" 999 12 \"-\" \"curl/8.5.0\""

  expect_dead_letter {
    reason = "schema"
    error  = "status: value 999 is above the maximum 599"
  }
}

test "nginx_tls_garbage" {
  transform = transform.nginx_access
  inputs = [
    "10.0.0.1 - - [21/Nov/2026:05:41:35 +0000] \"\\x16\\x03\\x01\\x00\\xa5\" 400 157 \"-\" \"-\"",
    "10.0.0.1 - - [21/Nov/2026:05:41:35 +0000] \"GET /truncated",
  ]

  expect_dead_letter { reason = "no_match" }
  expect_dead_letter { reason = "no_match" }
}
