agent {
  data_dir = "/var/lib/octoagent"
}

# One collector per cluster: run two or more replicas; the one holding the
# Lease collects. In a pod, the service account is used (no kubeconfig).
source "kubernetes_events" "cluster" {
  cluster        = "prod-eu-1" # part of every record id; the same on all replicas
  # kubeconfig   = "/etc/octoagent/kubeconfig"
  # namespace    = "shop"          # "" = every namespace
  # field_selector = "type=Warning"
  enrich_owners = true # Pod → ReplicaSet → Deployment, and images

  leader_election {
    lease_name = "octoagent-events"
    namespace  = "octoagent"
    duration   = "15s"
  }
}

sink "stdout" "out" {
  inputs = [source.kubernetes_events.cluster]
}
