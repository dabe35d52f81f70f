# Publishes typed CI records to a topic, one entity per key, so each
# pipeline run's records stay in order on one partition.
source "stdin" "events" {}

transform "ci" {
  inputs = [source.stdin.events]
  kind   = "workflow_run"
  entity = ["pipeline", "run_id"]
  parse "json" {}
}

sink "kafka" "changes" {
  inputs      = [transform.ci]
  brokers     = ["kafka-1:9092"]
  topic       = "metadata-changes"
  key         = "entity"   # or "id", "none"; key_field = "..." keys by a field
  compression = "snappy"
  # batch_max_records = 1000
  # retry_backoff_max = "5s"

  tls {}
}

sink "stdout" "rejects" {
  inputs = [transform.ci.dead_letter, sink.kafka.changes.dead_letter]
}
