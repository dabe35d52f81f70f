# The nginx pack's parse written with grok, with the shipped NGINX_COMBINED pattern: use it instead of
# configs/nginx/rules.hcl (same transform name, same schema, same records).
#
#   octoagent run -c configs/schemas -c configs/nginx/source.hcl -c configs/nginx/variants/grok.hcl -c my-sinks.hcl

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
