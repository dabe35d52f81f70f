# The nginx pack's regex and schema, then a jq step reshaping the record.
source "file" "nginx" {
  paths = [env("BENCH_INPUT")]
}
transform "reshape" {
  inputs = [transform.nginx_access]
  kind   = "http_request"
  jq     = "{client_ip, method, path, status, bytes, slow: (.bytes > 100000)}"
}
sink "file" "out" {
  inputs = [transform.reshape, transform.nginx_access.dead_letter, transform.reshape.dead_letter]
  path   = env("BENCH_OUTPUT")
}
