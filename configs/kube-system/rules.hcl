# Kubernetes node components' logs become k8s_component_log records.
#
#   octoagent run -c configs/kube-system -c my-sinks.hcl

# klog, the log library of the kubelet and the control plane
# (kube-apiserver, kube-scheduler, kube-controller-manager, kube-proxy):
#   Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg
# L is the severity (I, W, E, F). The header has no year: the year the
# line is read. Structured messages ("msg" key="value" ...) keep their
# keys as fields.
transform "kubelet" {
  inputs = [source.file.kubelet]
  schema = schema.k8s_component_log

  parse "regex" {
    pattern = <<-EOT
      ^(?P<klog_level>[IWEF])(?P<klog_date>\d{4} \d\d:\d\d:\d\d\.\d{6})\s+(?P<thread_id>\d+) (?P<source_file>[^ :\]]+):(?P<source_line>\d+)\] (?P<message>.*)$
    EOT
  }

  # A structured message: "text" then key="value" pairs.
  parse "regex" {
    field    = "message"
    pattern  = <<-EOT
      ^"(?P<message>(?:[^"\\]|\\.)*)"(?: (?P<klog_kv>.+))?$
    EOT
    optional = true
  }
  parse "logfmt" {
    field        = "klog_kv"
    remove_field = true
    optional     = true
  }

  set {
    component = "'kubelet'"
    severity  = "{'I': 'info', 'W': 'warning', 'E': 'error', 'F': 'fatal'}[klog_level]"
  }

  timestamp {
    field  = "klog_date"
    layout = "0102 15:04:05.000000"
  }
}

# containerd (logrus text format):
#   time="2026-11-21T05:41:35.123456789Z" level=info msg="..." key=value
transform "containerd" {
  inputs = [source.file.containerd]
  schema = schema.k8s_component_log

  parse "logfmt" {}

  set {
    component = "'containerd'"
    severity  = "level"
    message   = "msg"
  }

  timestamp {
    field  = "time"
    layout = "rfc3339"
  }
}

# CoreDNS: the log plugin's query lines (default format
# {remote}:{port} - {>id} "{type} {class} {name} {proto} {size} {>do} {>bufsize}" {rcode} {>rflags} {rsize} {duration}),
# then any other "[LEVEL] message" line, then the start-up banner lines
# (".:53", "CoreDNS-1.11.3") as info. The record's time is the container
# runtime's.
transform "coredns" {
  inputs = [source.kubernetes_logs.coredns]
  schema = schema.k8s_component_log

  parse "regex" {
    patterns = [
      "^\\[(?P<level>[A-Z]+)\\] (?P<client_ip>[0-9a-fA-F.:]+?):(?P<client_port>\\d+) - (?P<query_id>\\d+) \"(?P<query_type>\\S+) (?P<query_class>\\S+) (?P<query_name>\\S+) (?P<proto>udp|tcp) (?P<request_size>\\d+) (?P<do_bit>true|false) (?P<bufsize>\\d+)\" (?P<rcode>\\S+) (?P<response_flags>\\S*) (?P<response_size>\\d+) (?P<duration>[0-9.]+s)$",
      "^\\[(?P<level>[A-Z]+)\\] (?P<message>.*)$",
      "^(?P<message>\\S.*)$",
    ]
  }

  set {
    component = "'coredns'"
    severity  = "level == nil ? 'info' : {'DEBUG': 'debug', 'INFO': 'info', 'WARNING': 'warning', 'ERROR': 'error', 'FATAL': 'fatal'}[level] ?? lower(level)"
  }
}
