source "file" "a" {
  paths = ["/var/log/a.log"]
}

sink "file" "archive" {
  inputs = [source.file.a]
  path   = "/var/lib/octoagent/archive.jsonl"
}

# A sink has no main output, only its dead letters.
sink "stdout" "out" {
  inputs = [sink.file.archive]
}
