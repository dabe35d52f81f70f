# OTLP in → OTLP out with no rules: the like-for-like peer of the
# Collector's otlp → otlp (peers/otelcol-otlp.yaml), which parses nothing.
# otlp_rules is the same with the nginx rules in between.
source "otlp" "in" {
  grpc_address = env("BENCH_OTLP_IN")
  http_address = ""
}

sink "otlp" "out" {
  inputs   = [source.otlp.in]
  endpoint = "http://${env("BENCH_OTLP_OUT")}"
}
