# Kafka topic → the nginx pack → Kafka topic, on the bench's in-process
# broker (franz-go's kfake): each run is a new consumer group reading the
# "nginx" topic from its start (--once: until the high watermarks it saw
# at assignment) and writes the typed records to a topic of its own, with
# the sink's defaults (snappy, keyed by entity). The rules are
# configs/nginx/rules.hcl reading source.kafka.nginx (written by the bench
# into its work directory). Dead letters go to a file, and so do the
# records the broker refuses (a separate file, which must stay empty).
source "kafka" "nginx" {
  brokers  = [env("BENCH_KAFKA_BROKERS")]
  group_id = env("BENCH_KAFKA_GROUP")
  topics   = ["nginx"]
}
sink "kafka" "out" {
  inputs  = [transform.nginx_access]
  brokers = [env("BENCH_KAFKA_BROKERS")]
  topic   = env("BENCH_KAFKA_TOPIC_OUT")
}
sink "file" "out" {
  inputs = [transform.nginx_access.dead_letter]
  path   = env("BENCH_OUTPUT")
}
sink "file" "rejected" {
  inputs = [sink.kafka.out.dead_letter]
  path   = env("BENCH_REJECTED")
}
