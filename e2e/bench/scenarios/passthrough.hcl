# Raw passthrough: lines read from a file and written as JSON records.
source "file" "in" {
  paths = [env("BENCH_INPUT")]
}
sink "file" "out" {
  inputs = [source.file.in]
  path   = env("BENCH_OUTPUT")
}
