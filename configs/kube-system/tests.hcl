# Tests of the kube-system pack: klog lines (kubelet and the control
# plane), containerd's logrus lines and CoreDNS's, each group with its
# source named, then malformed lines. Run at the tests' time, 2026-01-01:
# a klog header has no year, so its year is 2025.
# klog lines from the Kubernetes documentation, "System Logs"
# (https://kubernetes.io/docs/concepts/cluster-administration/system-logs/):
# the klog header, a structured message, and the klog README's header
# format (https://github.com/kubernetes/klog: Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg).
test "kube_system_docs_httplog" {
  transform = transform.kubelet
  input     = "I1025 00:15:15.525108       1 httplog.go:79] GET /api/v1/namespaces/kube-system/pods/metrics-server-v0.3.1-57c75779f-9p8wg: (1.512ms) 200 [pod_nanny/v0.0.0 (linux/amd64) kubernetes/$Format 10.56.1.19:51756]"

  expect {
    kind = "k8s_component_log"
    time = "2025-10-25T00:15:15.525108Z"
    fields = {
      component = "kubelet"
      klog_date = "1025 00:15:15.525108"
      klog_level = "I"
      message = "GET /api/v1/namespaces/kube-system/pods/metrics-server-v0.3.1-57c75779f-9p8wg: (1.512ms) 200 [pod_nanny/v0.0.0 (linux/amd64) kubernetes/$Format 10.56.1.19:51756]"
      severity = "info"
      source_file = "httplog.go"
      source_line = 79
      thread_id = 1
    }
  }
}

test "kube_system_docs_structured" {
  transform = transform.kubelet
  input     = "I1025 00:15:15.525108       1 controller_utils.go:116] \"Pod status updated\" pod=\"kube-system/kubedns\" status=\"ready\""

  expect {
    kind = "k8s_component_log"
    time = "2025-10-25T00:15:15.525108Z"
    fields = {
      component = "kubelet"
      klog_date = "1025 00:15:15.525108"
      klog_level = "I"
      message = "Pod status updated"
      pod = "kube-system/kubedns"
      severity = "info"
      source_file = "controller_utils.go"
      source_line = 116
      status = "ready"
      thread_id = 1
    }
  }
}

test "kube_system_docs_structured_multi" {
  transform = transform.kubelet
  input     = "I0605 22:03:07.224293 3228948 logger.go:58] \"Log using Infof, key: value\" key=\"value\""

  expect {
    kind = "k8s_component_log"
    time = "2025-06-05T22:03:07.224293Z"
    fields = {
      component = "kubelet"
      key = "value"
      klog_date = "0605 22:03:07.224293"
      klog_level = "I"
      message = "Log using Infof, key: value"
      severity = "info"
      source_file = "logger.go"
      source_line = 58
      thread_id = 3228948
    }
  }
}

# kubelet lines as the kubelet writes them (kubelet.go, pod_workers.go,
# the CNI and eviction managers), with their klog headers.
test "kube_system_kubelet_cni_not_ready" {
  transform = transform.kubelet
  input     = "E0306 08:35:29.160305    2315 kubelet.go:2855] \"Container runtime network not ready\" networkReady=\"NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized\""

  expect {
    kind = "k8s_component_log"
    time = "2025-03-06T08:35:29.160305Z"
    fields = {
      component = "kubelet"
      klog_date = "0306 08:35:29.160305"
      klog_level = "E"
      message = "Container runtime network not ready"
      networkReady = "NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"
      severity = "error"
      source_file = "kubelet.go"
      source_line = 2855
      thread_id = 2315
    }
  }
}

test "kube_system_kubelet_syncloop_add" {
  transform = transform.kubelet
  input     = "I1121 05:41:35.123456    1234 kubelet.go:2168] \"SyncLoop ADD\" source=\"api\" pods=[\"kube-system/coredns-7db6d8ff4d-x2k9p\"]"

  expect {
    kind = "k8s_component_log"
    time = "2025-11-21T05:41:35.123456Z"
    fields = {
      component = "kubelet"
      klog_date = "1121 05:41:35.123456"
      klog_level = "I"
      message = "SyncLoop ADD"
      pods = "[\"kube-system/coredns-7db6d8ff4d-x2k9p\"]"
      severity = "info"
      source = "api"
      source_file = "kubelet.go"
      source_line = 2168
      thread_id = 1234
    }
  }
}

test "kube_system_kubelet_probe_failed" {
  transform = transform.kubelet
  input     = "I1121 05:41:36.000001    1234 prober.go:107] \"Probe failed\" probeType=\"Readiness\" pod=\"shop/checkout-5d9c7b8f6-abcde\" podUID=\"6f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b\" containerName=\"app\" probeResult=\"failure\" output=\"HTTP probe failed with statuscode: 503\""

  expect {
    kind = "k8s_component_log"
    time = "2025-11-21T05:41:36.000001Z"
    fields = {
      component = "kubelet"
      containerName = "app"
      klog_date = "1121 05:41:36.000001"
      klog_level = "I"
      message = "Probe failed"
      output = "HTTP probe failed with statuscode: 503"
      pod = "shop/checkout-5d9c7b8f6-abcde"
      podUID = "6f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
      probeResult = "failure"
      probeType = "Readiness"
      severity = "info"
      source_file = "prober.go"
      source_line = 107
      thread_id = 1234
    }
  }
}

test "kube_system_kubelet_eviction" {
  transform = transform.kubelet
  input     = "W1121 05:41:37.500000    1234 eviction_manager.go:366] \"Eviction manager: attempting to reclaim\" resourceName=\"memory\""

  expect {
    kind = "k8s_component_log"
    time = "2025-11-21T05:41:37.5Z"
    fields = {
      component = "kubelet"
      klog_date = "1121 05:41:37.500000"
      klog_level = "W"
      message = "Eviction manager: attempting to reclaim"
      resourceName = "memory"
      severity = "warning"
      source_file = "eviction_manager.go"
      source_line = 366
      thread_id = 1234
    }
  }
}

test "kube_system_kubelet_pod_error" {
  transform = transform.kubelet
  input     = "E1121 05:41:38.000000    1234 pod_workers.go:1298] \"Error syncing pod, skipping\" err=\"failed to \\\"StartContainer\\\" for \\\"app\\\" with CrashLoopBackOff: \\\"back-off 5m0s restarting failed container=app pod=checkout-5d9c7b8f6-abcde_shop(6f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b)\\\"\" pod=\"shop/checkout-5d9c7b8f6-abcde\" podUID=\"6f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b\""

  expect {
    kind = "k8s_component_log"
    time = "2025-11-21T05:41:38Z"
    fields = {
      component = "kubelet"
      err = "failed to \"StartContainer\" for \"app\" with CrashLoopBackOff: \"back-off 5m0s restarting failed container=app pod=checkout-5d9c7b8f6-abcde_shop(6f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b)\""
      klog_date = "1121 05:41:38.000000"
      klog_level = "E"
      message = "Error syncing pod, skipping"
      pod = "shop/checkout-5d9c7b8f6-abcde"
      podUID = "6f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
      severity = "error"
      source_file = "pod_workers.go"
      source_line = 1298
      thread_id = 1234
    }
  }
}

test "kube_system_kubelet_plain" {
  transform = transform.kubelet
  input     = "I1121 05:41:39.000000    1234 server.go:487] \"Kubelet version\" kubeletVersion=\"v1.31.2\""

  expect {
    kind = "k8s_component_log"
    time = "2025-11-21T05:41:39Z"
    fields = {
      component = "kubelet"
      klog_date = "1121 05:41:39.000000"
      klog_level = "I"
      kubeletVersion = "v1.31.2"
      message = "Kubelet version"
      severity = "info"
      source_file = "server.go"
      source_line = 487
      thread_id = 1234
    }
  }
}

test "kube_system_kubelet_flag" {
  transform = transform.kubelet
  input     = "I1121 05:41:30.111111    1234 flags.go:64] FLAG: --v=\"2\""

  expect {
    kind = "k8s_component_log"
    time = "2025-11-21T05:41:30.111111Z"
    fields = {
      component = "kubelet"
      klog_date = "1121 05:41:30.111111"
      klog_level = "I"
      message = "FLAG: --v=\"2\""
      severity = "info"
      source_file = "flags.go"
      source_line = 64
      thread_id = 1234
    }
  }
}

test "kube_system_apiserver_fatal" {
  transform = transform.kubelet
  input     = "F1121 05:41:40.999999       1 server.go:217] failed to load client CA file /etc/kubernetes/pki/ca.crt: open /etc/kubernetes/pki/ca.crt: no such file or directory"

  expect {
    kind = "k8s_component_log"
    time = "2025-11-21T05:41:40.999999Z"
    fields = {
      component = "kubelet"
      klog_date = "1121 05:41:40.999999"
      klog_level = "F"
      message = "failed to load client CA file /etc/kubernetes/pki/ca.crt: open /etc/kubernetes/pki/ca.crt: no such file or directory"
      severity = "fatal"
      source_file = "server.go"
      source_line = 217
      thread_id = 1
    }
  }
}

test "kube_system_scheduler_warning" {
  transform = transform.kubelet
  input     = "W1121 05:41:41.000100       1 authentication.go:368] Error looking up in-cluster authentication configuration: configmaps \"extension-apiserver-authentication\" is forbidden: User \"system:kube-scheduler\" cannot get resource \"configmaps\" in API group \"\" in the namespace \"kube-system\""

  expect {
    kind = "k8s_component_log"
    time = "2025-11-21T05:41:41.0001Z"
    fields = {
      component = "kubelet"
      klog_date = "1121 05:41:41.000100"
      klog_level = "W"
      message = "Error looking up in-cluster authentication configuration: configmaps \"extension-apiserver-authentication\" is forbidden: User \"system:kube-scheduler\" cannot get resource \"configmaps\" in API group \"\" in the namespace \"kube-system\""
      severity = "warning"
      source_file = "authentication.go"
      source_line = 368
      thread_id = 1
    }
  }
}

# Malformed lines: no klog header, an unknown severity letter, a cut
# header, an empty line.
test "kube_system_no_header" {
  transform = transform.kubelet
  input     = "Starting kubelet."

  expect_dead_letter {
    reason = "no_match"
    step   = "parse.regex"
    error  = "no pattern matched (1 tried)"
  }
}

test "kube_system_bad_severity" {
  transform = transform.kubelet
  input     = "X1121 05:41:35.123456    1234 kubelet.go:2168] \"SyncLoop ADD\""

  expect_dead_letter {
    reason = "no_match"
    step   = "parse.regex"
    error  = "no pattern matched (1 tried)"
  }
}

test "kube_system_cut_header" {
  transform = transform.kubelet
  input     = "I1121 05:41:35.123456    1234 kubelet.go"

  expect_dead_letter {
    reason = "no_match"
    step   = "parse.regex"
    error  = "no pattern matched (1 tried)"
  }
}


# containerd lines in logrus's text format, as containerd writes them at
# start-up and while running pods (containerd's documentation, "Debugging"
# and its ops guide, https://github.com/containerd/containerd/blob/main/docs/ops.md).
test "kube_system_containerd_starting" {
  transform = transform.containerd
  input     = "time=\"2026-11-21T05:41:35.123456789Z\" level=info msg=\"starting containerd\" revision=57f17b0a6295a39009d861b89e3b3b87b005ca27 version=v1.7.22"

  expect {
    kind = "k8s_component_log"
    time = "2026-11-21T05:41:35.123456789Z"
    fields = {
      component = "containerd"
      level = "info"
      message = "starting containerd"
      msg = "starting containerd"
      revision = "57f17b0a6295a39009d861b89e3b3b87b005ca27"
      severity = "info"
      time = "2026-11-21T05:41:35.123456789Z"
      version = "v1.7.22"
    }
  }
}

test "kube_system_containerd_plugin" {
  transform = transform.containerd
  input     = "time=\"2026-11-21T05:41:35.130000000Z\" level=info msg=\"loading plugin \\\"io.containerd.snapshotter.v1.overlayfs\\\"...\" type=io.containerd.snapshotter.v1"

  expect {
    kind = "k8s_component_log"
    time = "2026-11-21T05:41:35.13Z"
    fields = {
      component = "containerd"
      level = "info"
      message = "loading plugin \"io.containerd.snapshotter.v1.overlayfs\"..."
      msg = "loading plugin \"io.containerd.snapshotter.v1.overlayfs\"..."
      severity = "info"
      time = "2026-11-21T05:41:35.130000000Z"
      type = "io.containerd.snapshotter.v1"
    }
  }
}

test "kube_system_containerd_skip_plugin" {
  transform = transform.containerd
  input     = "time=\"2026-11-21T05:41:35.131000000Z\" level=info msg=\"skip loading plugin \\\"io.containerd.snapshotter.v1.btrfs\\\"...\" error=\"path /var/lib/containerd/io.containerd.snapshotter.v1.btrfs (ext4) must be a btrfs filesystem to be used with the btrfs snapshotter: skip plugin\" type=io.containerd.snapshotter.v1"

  expect {
    kind = "k8s_component_log"
    time = "2026-11-21T05:41:35.131Z"
    fields = {
      component = "containerd"
      error = "path /var/lib/containerd/io.containerd.snapshotter.v1.btrfs (ext4) must be a btrfs filesystem to be used with the btrfs snapshotter: skip plugin"
      level = "info"
      message = "skip loading plugin \"io.containerd.snapshotter.v1.btrfs\"..."
      msg = "skip loading plugin \"io.containerd.snapshotter.v1.btrfs\"..."
      severity = "info"
      time = "2026-11-21T05:41:35.131000000Z"
      type = "io.containerd.snapshotter.v1"
    }
  }
}

test "kube_system_containerd_serving" {
  transform = transform.containerd
  input     = "time=\"2026-11-21T05:41:35.200000000Z\" level=info msg=serving... address=/run/containerd/containerd.sock"

  expect {
    kind = "k8s_component_log"
    time = "2026-11-21T05:41:35.2Z"
    fields = {
      address = "/run/containerd/containerd.sock"
      component = "containerd"
      level = "info"
      message = "serving..."
      msg = "serving..."
      severity = "info"
      time = "2026-11-21T05:41:35.200000000Z"
    }
  }
}

test "kube_system_containerd_run_sandbox" {
  transform = transform.containerd
  input     = "time=\"2026-11-21T05:41:36.000000000Z\" level=info msg=\"RunPodSandbox for &PodSandboxMetadata{Name:coredns-7db6d8ff4d-x2k9p,Uid:0a1b2c3d,Namespace:kube-system,Attempt:0,}\""

  expect {
    kind = "k8s_component_log"
    time = "2026-11-21T05:41:36Z"
    fields = {
      component = "containerd"
      level = "info"
      message = "RunPodSandbox for &PodSandboxMetadata{Name:coredns-7db6d8ff4d-x2k9p,Uid:0a1b2c3d,Namespace:kube-system,Attempt:0,}"
      msg = "RunPodSandbox for &PodSandboxMetadata{Name:coredns-7db6d8ff4d-x2k9p,Uid:0a1b2c3d,Namespace:kube-system,Attempt:0,}"
      severity = "info"
      time = "2026-11-21T05:41:36.000000000Z"
    }
  }
}

test "kube_system_containerd_warning" {
  transform = transform.containerd
  input     = "time=\"2026-11-21T05:41:37.000000000Z\" level=warning msg=\"cleanup warnings time=\\\"2026-11-21T05:41:37Z\\\" level=info msg=\\\"starting signal loop\\\" namespace=k8s.io\" namespace=k8s.io"

  expect {
    kind = "k8s_component_log"
    time = "2026-11-21T05:41:37Z"
    fields = {
      component = "containerd"
      level = "warning"
      message = "cleanup warnings time=\"2026-11-21T05:41:37Z\" level=info msg=\"starting signal loop\" namespace=k8s.io"
      msg = "cleanup warnings time=\"2026-11-21T05:41:37Z\" level=info msg=\"starting signal loop\" namespace=k8s.io"
      namespace = "k8s.io"
      severity = "warning"
      time = "2026-11-21T05:41:37.000000000Z"
    }
  }
}

test "kube_system_containerd_error" {
  transform = transform.containerd
  input     = "time=\"2026-11-21T05:41:38.000000000Z\" level=error msg=\"PullImage \\\"registry.example.com/shop/checkout:1.4.2\\\" failed\" error=\"failed to pull and unpack image: failed to resolve reference: unexpected status from HEAD request: 401 Unauthorized\""

  expect {
    kind = "k8s_component_log"
    time = "2026-11-21T05:41:38Z"
    fields = {
      component = "containerd"
      error = "failed to pull and unpack image: failed to resolve reference: unexpected status from HEAD request: 401 Unauthorized"
      level = "error"
      message = "PullImage \"registry.example.com/shop/checkout:1.4.2\" failed"
      msg = "PullImage \"registry.example.com/shop/checkout:1.4.2\" failed"
      severity = "error"
      time = "2026-11-21T05:41:38.000000000Z"
    }
  }
}

test "kube_system_containerd_debug_offset" {
  transform = transform.containerd
  input     = "time=\"2026-11-21T06:41:39.000000000+01:00\" level=debug msg=\"garbage collected\" d=1.234567ms"

  expect {
    kind = "k8s_component_log"
    time = "2026-11-21T05:41:39Z"
    fields = {
      component = "containerd"
      d = "1.234567ms"
      level = "debug"
      message = "garbage collected"
      msg = "garbage collected"
      severity = "debug"
      time = "2026-11-21T06:41:39.000000000+01:00"
    }
  }
}

# Malformed lines: not logfmt, no time, an unknown level.
test "kube_system_not_logfmt" {
  transform = transform.containerd
  input     = "containerd: failed to load TOML: /etc/containerd/config.toml: (2, 1): unexpected token"

  expect_dead_letter {
    reason = "timestamp"
    step   = "timestamp"
    error  = "required by timestamp, missing"
  }
}

test "kube_system_no_time" {
  transform = transform.containerd
  input     = "level=info msg=\"no time\""

  expect_dead_letter {
    reason = "timestamp"
    step   = "timestamp"
    error  = "required by timestamp, missing"
  }
}

test "kube_system_bad_level" {
  transform = transform.containerd
  input     = "time=\"2026-11-21T05:41:35Z\" level=loud msg=\"unknown level\""

  expect_dead_letter {
    reason = "schema"
    step   = "schema"
    error  = "expects one of trace, debug, info, warning, error, fatal, pa"
  }
}


# CoreDNS lines: the log plugin's default query format
# (https://coredns.io/plugins/log/: the example "[INFO] [::1]:50759 - 29008 ..."
# is the same layout), start-up lines and plugin messages of CoreDNS in
# kube-system (https://kubernetes.io/docs/tasks/administer-cluster/dns-debugging-resolution/).
test "kube_system_coredns_query_a" {
  transform = transform.coredns
  input     = "[INFO] 10.244.0.1:51231 - 4242 \"A IN example.com. udp 29 false 512\" NOERROR qr,rd,ra 106 0.000227s"

  expect {
    kind = "k8s_component_log"
    time = "2026-01-01T00:00:00Z"
    fields = {
      bufsize = 512
      client_ip = "10.244.0.1"
      client_port = 51231
      component = "coredns"
      do_bit = false
      duration = "227\u00b5s"
      level = "INFO"
      proto = "udp"
      query_class = "IN"
      query_id = 4242
      query_name = "example.com."
      query_type = "A"
      rcode = "NOERROR"
      request_size = 29
      response_flags = "qr,rd,ra"
      response_size = 106
      severity = "info"
    }
  }
}

test "kube_system_coredns_query_aaaa_nx" {
  transform = transform.coredns
  input     = "[INFO] 10.244.1.7:40321 - 12345 \"AAAA IN kubernetes.default.svc.cluster.local.svc.cluster.local. udp 76 false 512\" NXDOMAIN qr,aa,rd 169 0.000118s"

  expect {
    kind = "k8s_component_log"
    time = "2026-01-01T00:00:00Z"
    fields = {
      bufsize = 512
      client_ip = "10.244.1.7"
      client_port = 40321
      component = "coredns"
      do_bit = false
      duration = "118\u00b5s"
      level = "INFO"
      proto = "udp"
      query_class = "IN"
      query_id = 12345
      query_name = "kubernetes.default.svc.cluster.local.svc.cluster.local."
      query_type = "AAAA"
      rcode = "NXDOMAIN"
      request_size = 76
      response_flags = "qr,aa,rd"
      response_size = 169
      severity = "info"
    }
  }
}

test "kube_system_coredns_query_tcp_do" {
  transform = transform.coredns
  input     = "[INFO] 10.244.2.9:53412 - 777 \"SRV IN _http._tcp.checkout.shop.svc.cluster.local. tcp 90 true 1232\" NOERROR qr,aa,rd 166 0.000093s"

  expect {
    kind = "k8s_component_log"
    time = "2026-01-01T00:00:00Z"
    fields = {
      bufsize = 1232
      client_ip = "10.244.2.9"
      client_port = 53412
      component = "coredns"
      do_bit = true
      duration = "93\u00b5s"
      level = "INFO"
      proto = "tcp"
      query_class = "IN"
      query_id = 777
      query_name = "_http._tcp.checkout.shop.svc.cluster.local."
      query_type = "SRV"
      rcode = "NOERROR"
      request_size = 90
      response_flags = "qr,aa,rd"
      response_size = 166
      severity = "info"
    }
  }
}

test "kube_system_coredns_query_servfail" {
  transform = transform.coredns
  input     = "[INFO] 10.244.0.5:38017 - 65001 \"A IN api.partner.example. udp 37 false 512\" SERVFAIL qr,rd 37 2.001256421s"

  expect {
    kind = "k8s_component_log"
    time = "2026-01-01T00:00:00Z"
    fields = {
      bufsize = 512
      client_ip = "10.244.0.5"
      client_port = 38017
      component = "coredns"
      do_bit = false
      duration = "2.001256421s"
      level = "INFO"
      proto = "udp"
      query_class = "IN"
      query_id = 65001
      query_name = "api.partner.example."
      query_type = "A"
      rcode = "SERVFAIL"
      request_size = 37
      response_flags = "qr,rd"
      response_size = 37
      severity = "info"
    }
  }
}

test "kube_system_coredns_reload" {
  transform = transform.coredns
  input     = "[INFO] plugin/reload: Running configuration SHA512 = 591cf328cccc12bc490481273e738df59329c62c0b729d94e8b61db9961c2fa5f046dd37f1cf888b953814040d180f52594972691cd6ff41be96639138a43908"

  expect {
    kind = "k8s_component_log"
    time = "2026-01-01T00:00:00Z"
    fields = {
      component = "coredns"
      level = "INFO"
      message = "plugin/reload: Running configuration SHA512 = 591cf328cccc12bc490481273e738df59329c62c0b729d94e8b61db9961c2fa5f046dd37f1cf888b953814040d180f52594972691cd6ff41be96639138a43908"
      severity = "info"
    }
  }
}

test "kube_system_coredns_banner_port" {
  transform = transform.coredns
  input     = ".:53"

  expect {
    kind = "k8s_component_log"
    time = "2026-01-01T00:00:00Z"
    fields = {
      component = "coredns"
      message = ".:53"
      severity = "info"
    }
  }
}

test "kube_system_coredns_banner_version" {
  transform = transform.coredns
  input     = "CoreDNS-1.11.3"

  expect {
    kind = "k8s_component_log"
    time = "2026-01-01T00:00:00Z"
    fields = {
      component = "coredns"
      message = "CoreDNS-1.11.3"
      severity = "info"
    }
  }
}

test "kube_system_coredns_banner_go" {
  transform = transform.coredns
  input     = "linux/amd64, go1.21.11, a6338e9"

  expect {
    kind = "k8s_component_log"
    time = "2026-01-01T00:00:00Z"
    fields = {
      component = "coredns"
      message = "linux/amd64, go1.21.11, a6338e9"
      severity = "info"
    }
  }
}

test "kube_system_coredns_warning" {
  transform = transform.coredns
  input     = "[WARNING] No files matching import glob pattern: custom/*.override"

  expect {
    kind = "k8s_component_log"
    time = "2026-01-01T00:00:00Z"
    fields = {
      component = "coredns"
      level = "WARNING"
      message = "No files matching import glob pattern: custom/*.override"
      severity = "warning"
    }
  }
}

test "kube_system_coredns_error" {
  transform = transform.coredns
  input     = "[ERROR] plugin/errors: 2 example.invalid. A: read udp 10.244.0.3:35432->10.96.0.10:53: i/o timeout"

  expect {
    kind = "k8s_component_log"
    time = "2026-01-01T00:00:00Z"
    fields = {
      component = "coredns"
      level = "ERROR"
      message = "plugin/errors: 2 example.invalid. A: read udp 10.244.0.3:35432->10.96.0.10:53: i/o timeout"
      severity = "error"
    }
  }
}

# Malformed lines: an empty message, a query line with a bad client IP.
test "kube_system_empty" {
  transform = transform.coredns
  input     = ""

  expect_dead_letter {
    reason = "no_match"
    step   = "parse.regex"
    error  = "no pattern matched (3 tried)"
  }
}

test "kube_system_bad_ip" {
  transform = transform.coredns
  input     = "[INFO] not-an-ip:51231 - 4242 \"A IN example.com. udp 29 false 512\" NOERROR qr,rd,ra 106 0.000227s"

  expect {
    kind = "k8s_component_log"
    time = "2026-01-01T00:00:00Z"
    fields = {
      component = "coredns"
      level = "INFO"
      message = "not-an-ip:51231 - 4242 \"A IN example.com. udp 29 false 512\" NOERROR qr,rd,ra 106 0.000227s"
      severity = "info"
    }
  }
}

