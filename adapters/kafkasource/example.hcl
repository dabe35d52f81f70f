# Reads the CI events topic as a member of the "octoagent" consumer group.
source "kafka" "ci" {
  brokers      = ["kafka-1:9092", "kafka-2:9092"]
  group_id     = "octoagent"
  topics       = ["ci-events"]
  # topic_regex = "^ci-.*"      # instead of topics; refreshed every topic_refresh_interval
  start_offset = "earliest"      # only where the group has no committed offset
  # commit_interval = "1s"
  # batch_max_records = 1024

  tls {
    # ca_file = "/etc/octoagent/kafka-ca.pem"   # verification is on by default
  }
  sasl {
    mechanism = "SCRAM-SHA-512"
    username  = "octoagent"
    password  = env("KAFKA_PASSWORD", "")
  }
}

sink "stdout" "out" {
  inputs = [source.kafka.ci]
}
