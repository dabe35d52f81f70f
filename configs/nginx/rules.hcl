# nginx "combined" access lines become typed http_request records
# (schema in configs/schemas/http_request.hcl).
#
#   octoagent run -c configs/schemas -c configs/nginx -c my-sinks.hcl
transform "nginx_access" {
  inputs = [source.file.nginx]
  schema = schema.http_request

  # Anchored, with literal separators: one pass, no backtracking.
  parse "regex" {
    pattern = "^(?P<client_ip>\\S+) - (?P<user>\\S+) \\[(?P<time>[^\\]]+)\\] \"(?P<method>[A-Z]+) (?P<path>[^ \"]+) (?P<protocol>[^\"]+)\" (?P<status>\\d{3}) (?P<bytes>\\d+|-) \"(?P<referer>[^\"]*)\" \"(?P<user_agent>[^\"]*)\"$"
  }

  # The record's time is the request's, not the time the line was read.
  timestamp {
    field  = "time"
    layout = "common_log"
  }
}
