source "file" "nginx" {
  paths = ["/var/log/nginx/access.log"]
}

schema "http_request" {
  version = "1"
  field "client_ip" {
    type     = "ip"
    required = true
  }
  field "status" {
    type     = "int"
    required = true
  }
  field "bytes" {
    type        = "int"
    null_values = ["-"]
    default     = 0
  }
  field "time" {
    type   = "time"
    layout = "02/Jan/2006:15:04:05 -0700"
  }
}

transform "nginx_errors" {
  inputs = [source.file.nginx]
  schema = schema.http_request # kind defaults to the schema's name

  # Steps run in the order written.
  parse "split" {
    fields = ["client_ip", "-", "user", "time", "request", "status", "bytes", "referer", "user_agent"]
  }
  parse "split" {
    field        = "request"
    remove_field = true
    fields       = ["method", "path", "protocol"]
  }
  timestamp {
    field  = "time"
    layout = "common_log"
  }
  where = "status >= 400" # dropped records are acknowledged and counted
  set {
    status_class = "string(int(status / 100)) + 'xx'" # expr: / divides as floats
  }
  entity = ["method", "path"]
}

test "server_error" {
  transform = transform.nginx_errors
  input     = "203.0.113.9 - - [21/Nov/2026:05:41:35 +0000] \"GET /api HTTP/1.1\" 502 17 \"-\" \"curl/8.5.0\""
  expect {
    fields = { status = 502, status_class = "5xx", bytes = 17 }
    entity = { method = "GET", path = "/api" }
  }
}

# Records and dead letters both go to standard output.
sink "stdout" "out" {
  inputs = [transform.nginx_errors, transform.nginx_errors.dead_letter]
}
