# The nginx pack's parse written with split (the fast path for space-separated logs): use it instead of
# configs/nginx/rules.hcl (same transform name, same schema, same records).
#
#   octoagent run -c configs/schemas -c configs/nginx/source.hcl -c configs/nginx/variants/split.hcl -c my-sinks.hcl

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
