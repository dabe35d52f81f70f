# The nginx pack's source and a file sink for its records and dead letters;
# the transform comes from configs/nginx/rules.hcl (regex) or one of
# configs/nginx/variants/ (split, awk, grok).
source "file" "nginx" {
  paths = [env("BENCH_INPUT")]
}
sink "file" "out" {
  inputs = [transform.nginx_access, transform.nginx_access.dead_letter]
  path   = env("BENCH_OUTPUT")
}
