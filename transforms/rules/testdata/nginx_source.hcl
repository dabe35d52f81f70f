# The source the nginx pack's transform reads, for loading a parse variant
# on its own (the test feeds lines to the transform directly).
source "file" "nginx" {
  paths = ["/dev/null"]
}
