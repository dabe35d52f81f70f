# postgresql_log: one PostgreSQL server log message, with its DETAIL,
# HINT, CONTEXT, STATEMENT and QUERY, from stderr, csvlog or jsonlog.
schema "postgresql_log" {
  version        = "1"
  unknown_fields = "allow"

  field "severity" {
    type     = "enum"
    values   = ["DEBUG5", "DEBUG4", "DEBUG3", "DEBUG2", "DEBUG1", "INFO", "NOTICE", "WARNING", "ERROR", "LOG", "FATAL", "PANIC"]
    required = true
  }
  field "message" {
    type     = "string"
    required = true
  }
  field "pid" {
    type = "int"
    min  = 0
  }
  field "user" {
    type        = "string"
    null_values = ["", "[unknown]"]
  }
  field "database" {
    type        = "string"
    null_values = ["", "[unknown]"]
  }
  field "application" {
    type        = "string"
    null_values = ["", "[unknown]"]
  }
  field "client" {
    type        = "string"
    null_values = ["", "[local]"]
  }
  field "client_port" {
    type        = "int"
    null_values = [""]
  }
  field "session_id" {
    type        = "string"
    null_values = [""]
  }
  field "session_line" {
    type        = "int"
    null_values = [""]
  }
  field "command_tag" {
    type        = "string"
    null_values = [""]
  }
  field "sql_state" {
    type        = "string"
    pattern     = "^[0-9A-Z]{5}$"
    null_values = [""]
  }
  field "detail" {
    type        = "string"
    null_values = [""]
  }
  field "hint" {
    type        = "string"
    null_values = [""]
  }
  field "context" {
    type        = "string"
    null_values = [""]
  }
  field "statement" {
    type        = "string"
    null_values = [""]
  }
  field "internal_query" {
    type        = "string"
    null_values = [""]
  }
  field "location" {
    type        = "string"
    null_values = [""]
  }
  field "backend_type" {
    type        = "string"
    null_values = [""]
  }
  field "query_id" {
    type        = "int"
    null_values = ["", "0"]
  }
  field "transaction_id" {
    type        = "int"
    null_values = ["", "0"]
  }
  field "virtual_transaction_id" {
    type        = "string"
    null_values = [""]
  }
  field "leader_pid" {
    type        = "int"
    null_values = [""]
  }
  field "query_pos" {
    type        = "int"
    null_values = [""]
  }
  field "internal_query_pos" {
    type        = "int"
    null_values = [""]
  }
  field "duration_ms" {
    type = "float"
    min  = 0
  }
}
