# The node's Kubernetes components. kubelet and containerd log to files
# on some distributions (or with journalctl -u kubelet -o cat -f >> FILE);
# set KUBELET_LOG and CONTAINERD_LOG to their paths. CoreDNS runs as pods
# in kube-system: their container logs are read from /var/log/pods (a
# DaemonSet with the RBAC of configs/kubernetes-logs/rbac.yaml).
source "file" "kubelet" {
  paths   = [env("KUBELET_LOG", "/var/log/kubelet.log*")]
  exclude = ["*.gz"]
}

source "file" "containerd" {
  paths   = [env("CONTAINERD_LOG", "/var/log/containerd.log*")]
  exclude = ["*.gz"]
}

source "kubernetes_logs" "coredns" {
  pods_dir           = env("PODS_DIR", "/var/log/pods")
  include_namespaces = ["kube-system"]
  include_containers = ["coredns"]
}
