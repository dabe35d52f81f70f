test "apache_combined" {
  transform = transform.apache_access
  input     = "192.0.2.7 - frank [10/Oct/2026:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 2326 \"http://www.example.com/start.html\" \"Mozilla/4.08 [en] (Win98; I ;Nav)\""

  expect {
    kind = "http_request"
    fields = {
      client_ip  = "192.0.2.7"
      user       = "frank"
      time       = "2026-10-10T20:55:36Z"
      method     = "GET"
      path       = "/apache_pb.gif"
      status     = 200
      bytes      = 2326
      referer    = "http://www.example.com/start.html"
      user_agent = "Mozilla/4.08 [en] (Win98; I ;Nav)"
    }
  }
}

test "apache_common" {
  transform = transform.apache_access
  input     = "192.0.2.7 - - [10/Oct/2026:13:55:36 -0700] \"POST /login HTTP/1.1\" 302 -"

  expect {
    fields    = { method = "POST", status = 302, bytes = 0 }
    condition = "referer == nil && user == nil"
  }
}

test "apache_garbage" {
  transform = transform.apache_access
  input     = "[Sat Oct 10 13:55:36 2026] [error] [client 192.0.2.7] File does not exist"

  expect_dead_letter {
    reason = "no_match"
    step   = "parse.grok"
  }
}
