# HAProxy logs through syslog (rsyslog's haproxy.conf writes
# /var/log/haproxy.log on Debian and Ubuntu), or to stdout in a container
# (log stdout format raw). Set HAPROXY_LOG to read another path.
source "file" "haproxy" {
  paths   = [env("HAPROXY_LOG", "/var/log/haproxy.log*")]
  exclude = ["*.gz"]
}
