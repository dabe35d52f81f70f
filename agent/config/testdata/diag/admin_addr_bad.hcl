agent {
  admin_addr = "9599"
}

source "stdin" "in" {}

sink "stdout" "out" {
  inputs = [source.stdin.in]
}
