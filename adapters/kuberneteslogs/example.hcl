agent {
  data_dir = "/var/lib/octoagent"
}

# One agent per node (a DaemonSet) with /var/log/pods mounted read-only.
source "kubernetes_logs" "pods" {
  pods_dir           = "/var/log/pods"
  exclude_namespaces = ["kube-system"]
  # include_pods     = ["api-*"]
  # start_at         = "end"   # only for files with no checkpoint
}

sink "stdout" "out" {
  inputs = [source.kubernetes_logs.pods, source.kubernetes_logs.pods.dead_letter]
}
