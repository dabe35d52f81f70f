source "file" "nginx" {
  paths = ["/var/log/nginx/access.log"]
}

sink "otlp" "collector" {
  inputs   = [source.file.nginx]
  protocol = "grpc" # or "http" (OTLP/HTTP, port 4318, encoding = "proto" or "json")
  endpoint = "https://otel-collector.observability:4317"

  token_file = "/etc/octoagent/otlp.token" # sent as "authorization: Bearer …"
  headers    = { "x-tenant" = "platform" }

  batch_max_records = 1000
  batch_max_wait    = "1s"

  tls {
    ca_file = "/etc/octoagent/otel-ca.pem"
  }

  buffer {
    type      = "disk" # records survive a crash and a long outage
    max_bytes = "1GiB"
  }
}

sink "stdout" "rejected" {
  inputs = [sink.otlp.collector.dead_letter]
}
