agent {
  data_dir = "/var/lib/octoagent"
}

source "stdin" "in" {}
