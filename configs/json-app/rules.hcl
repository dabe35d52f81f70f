# A JSON application log line becomes an app_log record, about its service.
schema "app_log" {
  version        = "1"
  unknown_fields = "allow"

  field "ts" {
    type     = "time"
    required = true
  }
  field "level" {
    type     = "enum"
    values   = ["debug", "info", "warn", "error", "fatal"]
    required = true
  }
  field "service" {
    type     = "string"
    required = true
  }
  field "msg" {
    type = "string"
  }
  field "trace_id" {
    type    = "string"
    pattern = "^[0-9a-f]{32}$"
  }
  field "duration_ms" {
    type = "int"
    min  = 0
  }
  field "status" {
    type = "int"
  }
}

transform "app_json" {
  inputs = [source.file.app]
  schema = schema.app_log
  entity = ["service"]

  parse "json" {}

  timestamp {
    field  = "ts"
    layout = "rfc3339"
  }

  set {
    slow = "duration_ms != nil && duration_ms > 1000"
  }
}
