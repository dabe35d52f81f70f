# Kubernetes events of the whole cluster, from the API server. In a pod the
# service account is used; elsewhere set KUBECONFIG. See
# adapters/kubernetesevents/README.md for the RBAC it needs (rbac.yaml).
source "kubernetes_events" "cluster" {
  kubeconfig    = env("KUBECONFIG", "")
  cluster       = env("K8S_CLUSTER_NAME", "kubernetes")
  enrich_owners = true
}
