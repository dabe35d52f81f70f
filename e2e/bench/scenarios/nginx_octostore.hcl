# The nginx pack (regex + schema, from configs/nginx/rules.hcl) with its
# records posted to the test Octostore (e2e/store, on PostgreSQL) over
# plain HTTP on localhost, with the sink's defaults (batches of 1,000,
# gzip, 4 in flight) and a bearer token read from a file. The pack's dead
# letters go to a file, and so do the records the store rejects (a separate
# file, which must stay empty); e2e/bench starts the store and counts what
# it holds after each run.
source "file" "nginx" {
  paths = [env("BENCH_INPUT")]
}
sink "octostore" "store" {
  inputs     = [transform.nginx_access]
  endpoint   = env("BENCH_STORE_URL")
  token_file = env("BENCH_STORE_TOKEN_FILE")
}
sink "file" "out" {
  inputs = [transform.nginx_access.dead_letter]
  path   = env("BENCH_OUTPUT")
}
sink "file" "rejected" {
  inputs = [sink.octostore.store.dead_letter]
  path   = env("BENCH_REJECTED")
}
