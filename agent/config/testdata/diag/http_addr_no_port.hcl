agent {
  http_addr = "127.0.0.1"
}

source "stdin" "in" {}

sink "stdout" "out" {
  inputs = [source.stdin.in]
}
