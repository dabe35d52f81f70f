source "stdin" "in" {}

sink "stdout" "out" {
  inputs = [source.stdin.in]
}
