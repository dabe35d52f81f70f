# k8s_component_log: one log line of a Kubernetes node component
# (kubelet, the control plane's klog lines, containerd, CoreDNS), with its
# severity, time and where in the code it was logged.
schema "k8s_component_log" {
  version        = "1"
  unknown_fields = "allow"

  field "component" {
    type     = "enum"
    values   = ["kubelet", "containerd", "coredns"]
    required = true
  }
  field "severity" {
    type     = "enum"
    values   = ["trace", "debug", "info", "warning", "error", "fatal", "panic"]
    required = true
  }
  field "message" {
    type = "string"
  }
  field "source_file" {
    type = "string"
  }
  field "source_line" {
    type = "int"
    min  = 1
  }
  field "thread_id" {
    type = "int"
  }
  # CoreDNS query log (the log plugin's default format).
  field "client_ip" {
    type = "ip"
  }
  field "client_port" {
    type = "int"
  }
  field "query_id" {
    type = "int"
  }
  field "query_type" {
    type = "string"
  }
  field "query_class" {
    type = "string"
  }
  field "query_name" {
    type = "string"
  }
  field "proto" {
    type   = "enum"
    values = ["udp", "tcp"]
  }
  field "request_size" {
    type = "int"
  }
  field "do_bit" {
    type = "bool"
  }
  field "bufsize" {
    type = "int"
  }
  field "rcode" {
    type = "string"
  }
  field "response_flags" {
    type = "string"
  }
  field "response_size" {
    type = "int"
  }
  field "duration" {
    type = "duration"
  }
}
