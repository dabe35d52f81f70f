source "stdin" "in" {}

sink "stdout" "out" {
  inputs = [source.stdin.in]
  # buffer { max_records = 2048 }
}
