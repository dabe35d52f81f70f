# syslog_message: one syslog message, RFC 5424 or RFC 3164 (BSD), as
# parse "syslog" reads it. Fields the line leaves out (RFC 5424's nil
# value "-") are null.
schema "syslog_message" {
  version        = "1"
  unknown_fields = "allow"

  field "format" {
    type     = "enum"
    values   = ["rfc5424", "rfc3164"]
    required = true
  }
  field "priority" {
    type = "int"
    min  = 0
    max  = 191
  }
  field "facility" {
    type = "enum"
    values = ["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
      "ntp", "security", "console", "solaris-cron", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"]
  }
  field "facility_code" {
    type = "int"
    min  = 0
    max  = 23
  }
  field "severity" {
    type   = "enum"
    values = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]
  }
  field "severity_code" {
    type = "int"
    min  = 0
    max  = 7
  }
  field "version" {
    type = "int"
  }
  field "timestamp" {
    type = "time"
  }
  field "hostname" {
    type = "string"
  }
  field "appname" {
    type = "string"
  }
  field "procid" {
    type = "string"
  }
  field "msgid" {
    type = "string"
  }
  field "structured_data" {
    type = "map"
  }
  field "message" {
    type = "string"
  }
}
