test "app_json_ok" {
  transform = transform.app_json
  input     = "{\"ts\":\"2026-11-21T05:00:00.123Z\",\"level\":\"warn\",\"service\":\"checkout\",\"msg\":\"slow query\",\"trace_id\":\"0123456789abcdef0123456789abcdef\",\"duration_ms\":1500,\"status\":200}"

  expect {
    kind   = "app_log"
    entity = { service = "checkout" }
    fields = { level = "warn", duration_ms = 1500, slow = true, ts = "2026-11-21T05:00:00.123Z" }
  }
}

test "app_json_bad_level_and_missing_service" {
  transform = transform.app_json
  input     = "{\"ts\":\"2026-11-21T05:00:00Z\",\"level\":\"loud\",\"msg\":\"x\"}"

  expect_dead_letter {
    reason = "schema"
    error  = "service: required, missing"
  }
}

test "app_json_not_json" {
  transform = transform.app_json
  input     = "{\"ts\":\"2026-11-21T05:00:00Z\",\"level\":\"info\",\"msg\":\"truncated"

  expect_dead_letter {
    reason = "bad_json"
  }
}

test "app_json_duration_type" {
  transform = transform.app_json
  input     = "{\"ts\":\"2026-11-21T05:00:00Z\",\"level\":\"info\",\"service\":\"auth\",\"duration_ms\":\"fast\"}"

  expect_dead_letter {
    error = "duration_ms: expects int, got string \"fast\""
  }
}
