# The nginx parse written with split instead of regex (same schema).
source "file" "nginx" {
  paths = [env("BENCH_INPUT")]
}

transform "nginx_access" {
  inputs = [source.file.nginx]
  schema = schema.http_request
  parse "split" {
    fields = ["client_ip", "-", "user", "time", "request", "status", "bytes", "referer", "user_agent"]
  }
  parse "split" {
    field        = "request"
    remove_field = true
    fields       = ["method", "path", "protocol"]
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
