sink "stdout" "out" {
  inputs = [source.stdin.in]
}

agent {
  http_addr = "127.0.0.1:9600"
}
