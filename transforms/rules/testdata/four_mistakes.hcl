source "stdin" "in" {}

schema "s" {
  field "status" {
    type     = "int"
    requried = true
  }
}

transform "t" {
  inputs = [source.stdin.in]
  schema = schema.s

  parse "regex" {
    pattern = "^(?P<status>\\d+"
  }
  jq {
    query = ".status | ]"
  }
  where = "status + \"x\" > 3"
}

sink "stdout" "out" {
  inputs = [transform.t]
}
