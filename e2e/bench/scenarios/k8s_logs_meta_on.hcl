# Container logs with pod metadata: the same 200 files, the informer
# knowing the bench node's 1,000 pods (e2e/bench/k8s.go serves them), every
# record carrying its pod's node, owners, labels, annotations and image.
source "kubernetes_logs" "pods" {
  pods_dir = env("BENCH_PODS_DIR")
  pod_metadata {
    kubeconfig = env("BENCH_KUBECONFIG")
    node_name  = "bench-node"
    sync_wait  = "10s"
  }
}
sink "file" "out" {
  inputs = [source.kubernetes_logs.pods]
  path   = env("BENCH_OUTPUT")
}
