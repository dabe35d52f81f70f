# The quickstart: read the sample nginx log, turn each line into a typed
# http_request record, and print records and dead letters as JSON lines.
#
#   make run      (= octoagent run --once -c configs/quickstart.hcl)

agent {
  data_dir  = "./.octoagent"   # checkpoints live here
  http_addr = "127.0.0.1:9598" # /metrics, /healthz, /readyz
}

source "file" "nginx" {
  paths    = ["${config_dir}/samples/nginx_access.log"]
  start_at = "beginning"
}

transform "nginx_access" {
  inputs = [source.file.nginx]
  kind   = "http_request"

  parse "regex" {
    pattern = "^(?P<client_ip>\\S+) \\S+ (?P<user>\\S+) \\[(?P<time>[^\\]]+)\\] \"(?P<method>[A-Z]+) (?P<path>[^ \"]+) (?P<protocol>[^\"]+)\" (?P<status>\\d{3}) (?P<bytes>\\d+|-) \"(?P<referer>[^\"]*)\" \"(?P<user_agent>[^\"]*)\"$"
  }
}

# Lines no rule can read are not lost: they come out as dead_letter records
# with the raw line and the reason.
sink "stdout" "out" {
  inputs = [transform.nginx_access, transform.nginx_access.dead_letter]
}
