# OTLP in → rules → OTLP out: nginx lines arrive as OTLP log records (the
# bench sends them over gRPC), the nginx pack's pattern and schema type
# their bodies, and every record (typed, or a dead letter) goes out over
# OTLP/gRPC to the bench's counting endpoint. The peer is the Collector's
# otlp → otlp (peers/otelcol-otlp.yaml) on the same requests.
source "otlp" "in" {
  grpc_address = env("BENCH_OTLP_IN")
  http_address = ""
}

transform "nginx_otlp" {
  inputs = [source.otlp.in]
  schema = schema.http_request

  parse "regex" {
    pattern = "^(?P<client_ip>\\S+) - (?P<user>\\S+) \\[(?P<time>[^\\]]+)\\] \"(?P<method>[A-Z]+) (?P<path>[^ \"]+) (?P<protocol>[^\"]+)\" (?P<status>\\d{3}) (?P<bytes>\\d+|-) \"(?P<referer>[^\"]*)\" \"(?P<user_agent>[^\"]*)\"$"
  }

  timestamp {
    field  = "time"
    layout = "common_log"
  }
}

sink "otlp" "out" {
  inputs   = [transform.nginx_otlp, transform.nginx_otlp.dead_letter]
  endpoint = "http://${env("BENCH_OTLP_OUT")}"
}
