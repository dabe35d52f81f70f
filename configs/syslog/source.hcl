# The system log as rsyslog or syslog-ng writes it (RFC 3164 lines, with
# or without the <PRI>, or RFC 5424 with RSYSLOG_SyslogProtocol23Format).
# Set SYSLOG_FILE to read another path.
source "file" "syslog" {
  paths   = [env("SYSLOG_FILE", "/var/log/syslog*")]
  exclude = ["*.gz"]
}
