# Container logs without pod metadata: 200 CRI files under a simulated
# /var/log/pods, raw records (with the path's entity) to a file.
source "kubernetes_logs" "pods" {
  pods_dir = env("BENCH_PODS_DIR")
  pod_metadata {
    enabled = false
  }
}
sink "file" "out" {
  inputs = [source.kubernetes_logs.pods]
  path   = env("BENCH_OUTPUT")
}
