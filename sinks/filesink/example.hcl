source "file" "app" {
  paths = ["/var/log/app/*.log"]
}

sink "file" "archive" {
  inputs = [source.file.app]
  path   = "/var/lib/octoagent/archive.jsonl"
  fsync  = true # each batch is on disk before its lines count as delivered
}
