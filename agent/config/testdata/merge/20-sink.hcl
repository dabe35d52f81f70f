sink "stdout" "out" {
  inputs = [source.file.nginx]
}
