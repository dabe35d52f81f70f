# HAProxy's HTTP and TCP log formats (option httplog, option tcplog)
# become proxy_access records (schema in configs/schemas/proxy_access.hcl),
# with or without the syslog header before them.
#
#   octoagent run -c configs/schemas -c configs/haproxy -c my-sinks.hcl
#
# The accept date has no zone: set the timestamp step's timezone to the
# zone HAProxy's host logs in (UTC as shipped).
transform "haproxy" {
  inputs = [source.file.haproxy]
  schema = schema.proxy_access

  parse "regex" {
    patterns = [
      # HTTP: %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r
      <<-EOT
        ^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ haproxy\[(?P<haproxy_pid>\d+)\]: )?(?P<client_ip>[0-9a-fA-F.:]+):(?P<client_port>\d+) \[(?P<accept_date>[^\]]+)\] (?P<frontend>[^ ~]+)(?P<tls>~)? (?P<backend>[^/ ]+)/(?P<server>\S+) (?P<time_request>-?\d+)/(?P<time_queue>-?\d+)/(?P<time_connect>-?\d+)/(?P<upstream_ms>-?\d+)/(?P<duration_ms>\+?-?\d+) (?P<status>-?\d+) (?P<bytes_sent>\+?\d+) (?P<request_cookie>\S+) (?P<response_cookie>\S+) (?P<termination_state>\S{4}) (?P<active_conns>\d+)/(?P<frontend_conns>\d+)/(?P<backend_conns>\d+)/(?P<server_conns>\d+)/(?P<retries>\+?\d+) (?P<server_queue>\d+)/(?P<backend_queue>\d+)(?: \{(?P<request_headers>[^}]*)\})?(?: \{(?P<response_headers>[^}]*)\})? "(?:(?P<method>[^ "]+)(?: (?P<path>[^ "]+))?(?: (?P<protocol>[^"]+))?)?"$
      EOT
      ,
      # TCP: %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
      <<-EOT
        ^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ haproxy\[(?P<haproxy_pid>\d+)\]: )?(?P<client_ip>[0-9a-fA-F.:]+):(?P<client_port>\d+) \[(?P<accept_date>[^\]]+)\] (?P<frontend>[^ ~]+)(?P<tls>~)? (?P<backend>[^/ ]+)/(?P<server>\S+) (?P<time_queue>-?\d+)/(?P<time_connect>-?\d+)/(?P<duration_ms>\+?-?\d+) (?P<bytes_sent>\+?\d+) (?P<termination_state>\S{2}) (?P<active_conns>\d+)/(?P<frontend_conns>\d+)/(?P<backend_conns>\d+)/(?P<server_conns>\d+)/(?P<retries>\+?\d+) (?P<server_queue>\d+)/(?P<backend_queue>\d+)$
      EOT
      ,
    ]
  }

  set {
    proxy = "'haproxy'"
    mode  = "status == nil ? 'tcp' : 'http'"
  }

  timestamp {
    field    = "accept_date"
    layout   = "02/Jan/2006:15:04:05.000"
    timezone = "UTC" # the zone of the HAProxy host
  }
}
