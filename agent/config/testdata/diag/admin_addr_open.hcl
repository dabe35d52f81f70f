agent {
  http_addr  = "0.0.0.0:9598"
  admin_addr = "0.0.0.0:9599"
}

source "stdin" "in" {}

sink "stdout" "out" {
  inputs = [source.stdin.in]
}
