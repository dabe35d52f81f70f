agent {
  data_dir            = "/var/lib/octoagent"
  http_addr           = "127.0.0.1:9598"
  shutdown_timeout    = "10s"
  checkpoint_interval = "500ms"
  queue_capacity      = 4096
  host                = "node-1"
}

source "file" "nginx" {
  paths         = ["/var/log/nginx/access.log*"]
  exclude       = ["/var/log/nginx/*.gz"]
  start_at      = "end"
  poll_interval = "100ms"
}

source "file" "app" {
  paths = ["/var/log/app/*.json"]
}

transform "nginx_access" {
  inputs = [source.file.nginx]
  kind   = "http_request"

  parse "regex" {
    patterns = [
      "^(?P<client_ip>\\S+) \\S+ \\S+ \\[(?P<time>[^\\]]+)\\] \"(?P<method>[A-Z]+) (?P<path>[^ \"]+)",
      "^(?P<client_ip>\\S+) (?P<status>\\d{3})",
    ]
  }
}

transform "app_events" {
  inputs = [source.file.app]
  kind   = "app_event"

  parse "json" {}
  parse "regex" {
    field   = "msg"
    pattern = "^(?P<verb>\\w+)"
  }
}

sink "file" "archive" {
  inputs = [transform.nginx_access, transform.app_events]
  path   = "/var/lib/octoagent/archive.jsonl"
  fsync  = true

  buffer {
    type        = "memory"
    max_records = 1000
    when_full   = "block"
  }
}

# Dead letters of every stage, on standard output.
sink "stdout" "rejects" {
  inputs = [
    source.file.nginx.dead_letter,
    transform.nginx_access.dead_letter,
    transform.app_events.dead_letter,
    sink.file.archive.dead_letter,
  ]
}
