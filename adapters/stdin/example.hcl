# cat access.log | octoagent run --once -c stdin.hcl
source "stdin" "in" {
  # max_line_bytes    = 102400
  # batch_max_records = 1024
  # batch_timeout     = "100ms"
}

sink "stdout" "out" {
  inputs = [source.stdin.in]
}
