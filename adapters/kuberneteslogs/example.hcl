agent {
  data_dir = "/var/lib/octoagent"
}

# One agent per node (a DaemonSet) with /var/log/pods mounted read-only,
# NODE_NAME from the downward API and a service account allowed to list
# and watch pods (README.md, "RBAC").
source "kubernetes_logs" "pods" {
  pods_dir           = "/var/log/pods"
  exclude_namespaces = ["kube-system"]
  # include_pods     = ["api-*"]
  # start_at         = "end"   # only for files with no checkpoint

  # On by default; this block only changes the defaults.
  pod_metadata {
    exclude_labels   = ["pod-template-hash", "controller-revision-hash"]
    namespace_labels = true
  }

  # Stack traces as one record; a pod may pick another preset with the
  # octoagent.io/multiline annotation.
  multiline {
    preset = "java"
  }

  # Transforms a pod may pick with octoagent.io/rules: "nginx_access".
  rules_transforms = ["nginx_access"]
}

transform "nginx_access" {
  inputs = [source.kubernetes_logs.pods]
  parse "regex" {
    pattern = "^(?P<client_ip>\\S+) \\S+ \\S+ \\[[^\\]]+\\] \"(?P<method>\\S+) (?P<path>\\S+) [^\"]*\" (?P<status>\\d{3})"
  }
}

sink "stdout" "out" {
  inputs = [
    source.kubernetes_logs.pods, source.kubernetes_logs.pods.dead_letter,
    transform.nginx_access, transform.nginx_access.dead_letter,
  ]
}
