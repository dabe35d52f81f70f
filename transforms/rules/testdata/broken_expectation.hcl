source "stdin" "in" {}

transform "t" {
  inputs = [source.stdin.in]
  kind   = "greeting"
  parse "regex" {
    pattern = "^(?P<word>\\w+) (?P<n>\\d+)$"
  }
}

test "right" {
  transform = transform.t
  input     = "hello 1"
  expect {
    fields = { word = "hello", n = "1" }
  }
}

test "wrong" {
  transform = transform.t
  inputs    = ["hello 2", "not matching"]
  expect {
    kind      = "farewell"
    fields    = { word = "goodbye", n = "2", extra = true }
    condition = "word == 'goodbye'"
  }
}
