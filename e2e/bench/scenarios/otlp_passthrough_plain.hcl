# otlp_passthrough without compression on the way out, the like-for-like
# peer of peers/otelcol-otlp-plain.yaml: what the two pipelines cost
# without gzip, which is most of the Collector's CPU (its otlp exporter
# uses gRPC's gzip, the standard library's at level 6; the sink uses
# klauspost/compress at level 1).
source "otlp" "in" {
  grpc_address = env("BENCH_OTLP_IN")
  http_address = ""
}

sink "otlp" "out" {
  inputs      = [source.otlp.in]
  endpoint    = "http://${env("BENCH_OTLP_OUT")}"
  compression = "none"
}
