# Syslog lines become syslog_message records: RFC 5424 (structured data
# kept as a map of maps, "-" as null) and RFC 3164 (BSD; with or without
# the <PRI>, as in /var/log/syslog), told apart line by line. The PRI is
# decoded into facility and severity names; the record's time is the
# message's (RFC 3164 has no year: the year the line is read; no zone:
# timezone, default UTC).
#
#   octoagent run -c configs/syslog -c my-sinks.hcl
transform "syslog" {
  inputs = [source.file.syslog]
  schema = schema.syslog_message

  parse "syslog" {
    timezone = "UTC" # the zone the senders write their RFC 3164 times in
  }
}
