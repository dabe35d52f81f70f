# The nginx pack (configs/nginx/rules.hcl: regex, http_request schema,
# timestamp), records and dead letters to a file.
source "file" "nginx" {
  paths = [env("BENCH_INPUT")]
}
sink "file" "out" {
  inputs = [transform.nginx_access, transform.nginx_access.dead_letter]
  path   = env("BENCH_OUTPUT")
}
