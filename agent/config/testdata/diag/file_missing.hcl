source "stdin" "in" {}

transform "access" {
  inputs = [source.stdin.in]

  parse "regex" {
    pattern = file("no_such_pattern.txt")
  }
}

sink "stdout" "out" {
  inputs = [transform.access]
}
