agent {
  data_dir         = "/var/lib/octoagent"
  shutdown_timeout = "30 seconds"
}

source "stdin" "in" {}

sink "stdout" "out" {
  inputs = [source.stdin.in]
}
