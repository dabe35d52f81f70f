# http_request: one request served by a web server. Shared by the nginx and
# Apache rule packs, so their records are alike.
schema "http_request" {
  version        = "1"
  unknown_fields = "allow"

  field "client_ip" {
    type     = "ip"
    required = true
  }
  field "user" {
    type        = "string"
    null_values = ["-"]
  }
  field "time" {
    type     = "time"
    layout   = "02/Jan/2006:15:04:05 -0700"
    required = true
  }
  field "method" {
    type     = "enum"
    values   = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"]
    required = true
  }
  field "path" {
    type     = "string"
    required = true
  }
  field "protocol" {
    type    = "string"
    pattern = "^HTTP/[0-9.]+$"
  }
  field "status" {
    type     = "int"
    required = true
    min      = 100
    max      = 599
  }
  field "bytes" {
    type        = "int"
    null_values = ["-"]
    default     = 0
    min         = 0
  }
  field "referer" {
    type        = "string"
    null_values = ["-"]
  }
  field "user_agent" {
    type        = "string"
    null_values = ["-"]
  }
}
