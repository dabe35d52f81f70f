# The API server's audit log (--audit-log-path; the log backend writes one
# JSON event a line). The kubeadm documentation's path is the default;
# set K8S_AUDIT_LOG to read another.
source "file" "kubernetes_audit" {
  paths   = [env("K8S_AUDIT_LOG", "/var/log/kubernetes/audit/audit*.log")]
  exclude = ["*.gz"]
}
