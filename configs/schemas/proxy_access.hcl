# proxy_access: one request or connection a proxy or load balancer
# handled (HAProxy, Envoy, Traefik). Shared by the haproxy, envoy and
# traefik packs, so their records are alike. A TCP session has no method,
# path or status.
schema "proxy_access" {
  version        = "1"
  unknown_fields = "allow"

  field "proxy" {
    type     = "enum"
    values   = ["haproxy", "envoy", "traefik"]
    required = true
  }
  field "mode" {
    type     = "enum"
    values   = ["http", "tcp"]
    required = true
  }
  field "client_ip" {
    type = "ip"
  }
  field "client_port" {
    type = "int"
  }
  field "method" {
    type        = "string"
    null_values = ["-"]
  }
  field "path" {
    type        = "string"
    null_values = ["-"]
  }
  field "protocol" {
    type        = "string"
    null_values = ["-"]
  }
  field "status" {
    type        = "int"
    min         = 0
    max         = 599
    null_values = ["-"]
  }
  field "bytes_received" {
    type        = "int"
    min         = 0
    null_values = ["-"]
  }
  field "bytes_sent" {
    type        = "int"
    min         = 0
    null_values = ["-"]
  }
  field "duration_ms" {
    type        = "float"
    null_values = ["-"]
  }
  field "upstream_ms" {
    type        = "float"
    null_values = ["-"]
  }
  field "frontend" {
    type = "string"
  }
  field "backend" {
    type = "string"
  }
  field "server" {
    type        = "string"
    null_values = ["-", "<NOSRV>"]
  }
  field "upstream" {
    type        = "string"
    null_values = ["-"]
  }
  field "retries" {
    type = "int"
  }
  field "termination_state" {
    type = "string"
  }
  field "response_flags" {
    type        = "string"
    null_values = ["-"]
  }
  field "user_agent" {
    type        = "string"
    null_values = ["-"]
  }
  field "request_id" {
    type        = "string"
    null_values = ["-"]
  }
  field "authority" {
    type        = "string"
    null_values = ["-"]
  }
  field "forwarded_for" {
    type        = "string"
    null_values = ["-"]
  }
}
