# CI build and deploy events, one JSON object per Kafka message.
#
#   KAFKA_BROKERS=kafka-1:9092,kafka-2:9092 \
#     octoagent run -c configs/schemas -c configs/kafka-ci-events -c my-sinks.hcl
#
# KAFKA_BROKERS is a comma-separated broker list; KAFKA_CI_TOPIC and
# KAFKA_GROUP_ID name the topic and the consumer group.
source "kafka" "ci" {
  brokers      = [env("KAFKA_BROKERS", "localhost:9092")]
  group_id     = env("KAFKA_GROUP_ID", "octoagent-ci")
  topics       = [env("KAFKA_CI_TOPIC", "ci-events")]
  start_offset = "earliest"
}
