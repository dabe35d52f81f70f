# PostgreSQL server logs become postgresql_log records, from stderr (with
# the common log_line_prefix settings), csvlog and jsonlog.
#
#   octoagent run -c configs/postgresql -c my-sinks.hcl
#
# The log time is written with log_timezone's abbreviation ("UTC", "CET"):
# set the timestamp steps' timezone to that zone's IANA name ("Europe/Paris") so that
# its abbreviations are read with their offsets (another abbreviation is
# dead-lettered, never read as UTC).

# stderr. One record is a message and the DETAIL, HINT, CONTEXT, STATEMENT
# and QUERY lines after it (the source's multiline preset). Prefixes:
#   '%m [%p] '                                    the default since 10
#   '%m [%p] %q%u@%d '                            Debian and Ubuntu
#   '%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h '   pgBadger's
#   '%t:%r:%u@%d:[%p]:'                           Amazon RDS
transform "postgresql" {
  inputs = [source.file.postgresql]
  schema = schema.postgresql_log

  parse "regex" {
    patterns = [
      <<-EOT
        ^(?P<log_time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? [A-Za-z0-9+-]+) \[(?P<pid>\d+)\] (?:(?P<user>[^@\s]*)@(?P<database>\S*) )?(?P<severity>[A-Z]+[0-9]?):  (?P<message>[^\n]*(?:\n\t[^\n]*)*)(?s:\n(?P<pg_rest>.*))?$
      EOT
      ,
      <<-EOT
        ^(?P<log_time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? [A-Za-z0-9+-]+) \[(?P<pid>\d+)\]: \[(?P<session_line>\d+)-\d+\] user=(?P<user>[^,]*),db=(?P<database>[^,]*),app=(?P<application>[^,]*),client=(?P<client>\S*) (?P<severity>[A-Z]+[0-9]?):  (?P<message>[^\n]*(?:\n\t[^\n]*)*)(?s:\n(?P<pg_rest>.*))?$
      EOT
      ,
      <<-EOT
        ^(?P<log_time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? [A-Za-z0-9+-]+):(?P<client>[^:(]*)(?:\((?P<client_port>\d+)\))?:(?P<user>[^@:]*)@(?P<database>[^:]*):\[(?P<pid>\d+)\]:(?P<severity>[A-Z]+[0-9]?):  (?P<message>[^\n]*(?:\n\t[^\n]*)*)(?s:\n(?P<pg_rest>.*))?$
      EOT
      ,
    ]
  }

  # The lines after the message, each with the same prefix.
  parse "regex" {
    field    = "pg_rest"
    pattern  = <<-EOT
      (?m)(?:^|[\s:])DETAIL:  (?P<detail>[^\n]*(?:\n\t[^\n]*)*)
    EOT
    optional = true
  }
  parse "regex" {
    field    = "pg_rest"
    pattern  = <<-EOT
      (?m)(?:^|[\s:])HINT:  (?P<hint>[^\n]*(?:\n\t[^\n]*)*)
    EOT
    optional = true
  }
  parse "regex" {
    field    = "pg_rest"
    pattern  = <<-EOT
      (?m)(?:^|[\s:])CONTEXT:  (?P<context>[^\n]*(?:\n\t[^\n]*)*)
    EOT
    optional = true
  }
  parse "regex" {
    field    = "pg_rest"
    pattern  = <<-EOT
      (?m)(?:^|[\s:])STATEMENT:  (?P<statement>[^\n]*(?:\n\t[^\n]*)*)
    EOT
    optional = true
  }
  parse "regex" {
    field        = "pg_rest"
    pattern      = <<-EOT
      (?m)(?:^|[\s:])QUERY:  (?P<internal_query>[^\n]*(?:\n\t[^\n]*)*)
    EOT
    optional     = true
    remove_field = true
  }
  # log_min_duration_statement and log_duration.
  parse "regex" {
    field    = "message"
    pattern  = "^duration: (?P<duration_ms>[0-9.]+) ms(?:  (?:statement|execute [^:]*|bind [^:]*|parse [^:]*): (?P<statement>(?s:.*)))?$"
    optional = true
  }

  timestamp {
    field    = "log_time"
    layout   = "2006-01-02 15:04:05 MST"
    timezone = "UTC" # log_timezone, as an IANA name
  }
}

# csvlog: the columns of PostgreSQL 14 and later; 13 has 24 of them and
# 12 and before 23, which read the same.
transform "postgresql_csv" {
  inputs = [source.file.postgresql_csv]
  schema = schema.postgresql_log

  parse "csv" {
    fields = [
      "log_time", "user", "database", "pid", "client", "session_id", "session_line", "command_tag",
      "session_start", "virtual_transaction_id", "transaction_id", "severity", "sql_state", "message",
      "detail", "hint", "internal_query", "internal_query_pos", "context", "statement", "query_pos",
      "location", "application", "backend_type", "leader_pid", "query_id",
    ]
    min_fields = 23
  }
  parse "regex" {
    field    = "client"
    pattern  = "^(?P<client>[^:]+):(?P<client_port>\\d+)$"
    optional = true
  }
  parse "regex" {
    field    = "message"
    pattern  = "^duration: (?P<duration_ms>[0-9.]+) ms"
    optional = true
  }

  timestamp {
    field    = "log_time"
    layout   = "2006-01-02 15:04:05 MST"
    timezone = "UTC" # log_timezone, as an IANA name
  }
}

# jsonlog (PostgreSQL 15+): one object a line, its keys renamed to the
# schema's.
transform "postgresql_json" {
  inputs = [source.file.postgresql_json]
  schema = schema.postgresql_log

  jq = <<-EOT
    .message | fromjson | {
      log_time: .timestamp, user: .user, database: .dbname, pid: .pid,
      client: .remote_host, client_port: .remote_port, session_id: .session_id,
      session_line: .line_num, command_tag: .ps, session_start: .session_start,
      virtual_transaction_id: .vxid, transaction_id: .txid, severity: .error_severity,
      sql_state: .state_code, message: .message, detail: .detail, hint: .hint,
      internal_query: .internal_query, context: .context, statement: .statement,
      location: ((.func_name // "") + (if .file_name then ", " + .file_name + ":" + (.file_line_num | tostring) else "" end) | if . == "" then null else . end),
      application: .application_name, backend_type: .backend_type, leader_pid: .leader_pid,
      query_id: .query_id,
      duration_ms: ((.message | capture("^duration: (?<d>[0-9.]+) ms")? | .d | tonumber) // null)
    } | del(.[] | nulls)
  EOT

  timestamp {
    field    = "log_time"
    layout   = "2006-01-02 15:04:05 MST"
    timezone = "UTC" # log_timezone, as an IANA name
  }
}
