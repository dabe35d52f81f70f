source "file" "app" {
  paths = ["/var/log/app/*.log"]
}

sink "http" "collector" {
  inputs   = [source.file.app]
  url      = "https://collector.internal/ingest/{{kind}}"
  method   = "POST"
  encoding = "ndjson"
  headers = {
    "X-Tenant" = "platform"
  }
  token = env("COLLECTOR_TOKEN", "")
}
