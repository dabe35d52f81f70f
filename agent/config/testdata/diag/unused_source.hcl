source "file" "a" {
  paths = ["/var/log/a.log"]
}

source "file" "forgotten" {
  paths = ["/var/log/forgotten.log"]
}

sink "stdout" "out" {
  inputs = [source.file.a]
}
