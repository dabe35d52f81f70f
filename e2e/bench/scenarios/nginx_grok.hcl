# The nginx parse written with grok instead of regex (same schema).
source "file" "nginx" {
  paths = [env("BENCH_INPUT")]
}

transform "nginx_access" {
  inputs = [source.file.nginx]
  schema = schema.http_request
  parse "grok" {
    pattern = "^%%{NGINX_COMBINED}$"
  }
  timestamp {
    field  = "time"
    layout = "common_log"
  }
}

sink "file" "out" {
  inputs = [transform.nginx_access, transform.nginx_access.dead_letter]
  path   = env("BENCH_OUTPUT")
}
