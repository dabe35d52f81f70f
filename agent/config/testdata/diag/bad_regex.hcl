source "stdin" "in" {}

transform "access" {
  inputs = [source.stdin.in]

  parse "regex" {
    pattern = "^(?P<ip>\\S+) (?P<status>\\d{3}"
  }
}

sink "stdout" "out" {
  inputs = [transform.access, transform.access.dead_letter]
}
