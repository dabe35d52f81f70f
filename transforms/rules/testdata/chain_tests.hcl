# octoagent test runs a test's lines through the transforms the tested one
# reads (here transform.orders reads transform.envelope), and checks the
# record time, the kind, several records from one line, and dead letters
# by field, with the component that made them.
source "stdin" "in" {}

schema "order_line" {
  field "order" {
    type     = "string"
    required = true
  }
  field "qty" {
    type = "int"
    min  = 1
  }
}

transform "envelope" {
  inputs = [source.stdin.in]
  parse "regex" {
    pattern = <<-EOT
      ^(?P<ts>\S+) (?P<body>\{.*\})$
    EOT
  }
  timestamp {
    field  = "ts"
    layout = "rfc3339"
  }
}

transform "orders" {
  inputs = [transform.envelope]
  schema = schema.order_line
  parse "json" { field = "body" }
  jq = "{order: .id} + (.lines[] | {qty: .qty})"
}

test "chain_two_lines_one_input" {
  transform = transform.orders
  input     = "2026-11-21T04:41:35Z {\"id\":\"A1\",\"lines\":[{\"qty\":2},{\"qty\":5}]}"

  expect {
    kind   = "order_line"
    time   = "2026-11-21T04:41:35Z"
    fields = { order = "A1", qty = 2 }
  }
  expect {
    kind   = "order_line"
    time   = "2026-11-21T04:41:35Z"
    fields = { order = "A1", qty = 5 }
  }
}

test "chain_dead_letters" {
  transform = transform.orders
  inputs = [
    "not even a timestamp",
    "2026-11-21T04:41:35Z {\"id\":\"A2\",\"lines\":[{\"qty\":0}]}",
  ]

  expect_dead_letter {
    component = "transform.envelope"
    reason    = "no_match"
    errors    = { message = "no pattern matched" }
  }
  expect_dead_letter {
    component = "transform.orders"
    reason    = "schema"
    errors    = { qty = "below the minimum 1" }
  }
}

# Fails on purpose: the golden output shows the field-by-field diff.
test "chain_wrong_expectations" {
  transform = transform.orders
  inputs = [
    "2026-11-21T04:41:35Z {\"id\":\"A3\",\"lines\":[{\"qty\":2}]}",
    "2026-11-21T04:41:35Z {\"id\":\"A4\",\"lines\":[{\"qty\":0}]}",
  ]

  expect {
    kind   = "order"
    time   = "2026-11-21T05:00:00Z"
    fields = { order = "A3", qty = 3, note = "x" }
  }
  expect_dead_letter {
    errors = { qty = "above the maximum", order = "missing" }
  }
}
