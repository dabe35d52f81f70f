# The nginx pack (configs/nginx/rules.hcl) on the input split into many
# files, tailed at once through one glob, with at most 256 of them holding
# a handle (e2e/bench polls the process's open descriptors).
source "file" "nginx" {
  paths          = [env("BENCH_INPUT_GLOB")]
  max_open_files = 256
}
sink "file" "out" {
  inputs = [transform.nginx_access, transform.nginx_access.dead_letter]
  path   = env("BENCH_OUTPUT")
}
