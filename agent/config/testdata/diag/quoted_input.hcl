source "file" "a" {
  paths = ["/var/log/a.log"]
}

sink "stdout" "out" {
  inputs = ["source.file.a"]
}
