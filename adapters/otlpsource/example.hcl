source "otlp" "apps" {
  grpc_address = "0.0.0.0:4317" # default "127.0.0.1:4317"; "" turns gRPC off
  http_address = "0.0.0.0:4318" # default "127.0.0.1:4318"; POST /v1/logs

  token_file = "/etc/octoagent/otlp.token" # clients send "authorization: Bearer …"
  tls {
    cert_file = "/etc/octoagent/tls/server.pem"
    key_file  = "/etc/octoagent/tls/server-key.pem"
    # ca_file = "/etc/octoagent/tls/clients-ca.pem" # require client certificates (mTLS)
  }

  # max_request_bytes   = "8MiB"
  # max_request_records = 65536
  # max_attribute_depth = 16
  # max_pending_records = 16384
}

transform "app_logs" {
  inputs = [source.otlp.apps]
  parse "json" {} # the body is the message: parse it like a line
}

sink "file" "records" {
  inputs = [transform.app_logs]
  path   = "/var/lib/octoagent/otlp.jsonl"
}
