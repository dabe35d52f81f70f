test "workflow_run_finished" {
  transform = transform.workflow_run
  input     = "{\"type\":\"workflow_run\",\"run_id\":9001,\"pipeline\":\"build-api\",\"status\":\"success\",\"commit\":\"3f9c2ab\",\"inputs\":{\"branch\":\"main\"},\"outputs\":{\"artifacts\":[\"s3://ci-artifacts/build-api/9001/api.tar.gz\"],\"images\":[\"registry.example.com/api:3f9c2ab\"]},\"started_at\":\"2026-11-21T05:00:00Z\",\"finished_at\":\"2026-11-21T05:04:56Z\",\"duration_s\":296,\"triggered_by\":\"push:alice\"}"

  expect {
    kind   = "workflow_run"
    entity = { pipeline = "build-api", run_id = "9001" }
    fields = {
      run_id       = "9001"
      status       = "success"
      artifacts    = ["s3://ci-artifacts/build-api/9001/api.tar.gz"]
      images       = ["registry.example.com/api:3f9c2ab"]
      inputs       = { branch = "main" }
      started_at   = "2026-11-21T05:00:00Z"
      finished_at  = "2026-11-21T05:04:56Z"
      triggered_by = "push:alice"
      duration_s   = 296
    }
  }
}

test "workflow_run_started_has_no_outputs" {
  transform = transform.workflow_run
  input     = "{\"type\":\"workflow_run\",\"run_id\":\"d-77\",\"pipeline\":\"deploy-api\",\"status\":\"running\",\"inputs\":{\"env\":\"prod\"},\"started_at\":\"2026-11-21T05:06:00Z\"}"

  expect {
    entity    = { pipeline = "deploy-api", run_id = "d-77" }
    fields    = { status = "running", artifacts = [], images = [] }
    condition = "finished_at == nil"
  }
}

test "workflow_run_ignores_steps" {
  transform = transform.workflow_run
  input     = "{\"type\":\"workflow_step\",\"run_id\":9001,\"pipeline\":\"build-api\",\"step\":\"test\",\"status\":\"success\",\"started_at\":\"2026-11-21T05:00:04Z\"}"
  dropped   = 1
}

test "workflow_run_bad_status_and_missing_pipeline" {
  transform = transform.workflow_run
  input     = "{\"type\":\"workflow_run\",\"run_id\":9002,\"status\":\"exploded\",\"started_at\":\"2026-11-21T05:14:00Z\"}"

  expect_dead_letter {
    reason = "schema"
    error  = "pipeline: required, missing"
  }
}

test "workflow_step_failed_retry" {
  transform = transform.workflow_step
  input     = "{\"type\":\"workflow_step\",\"run_id\":\"d-77\",\"pipeline\":\"deploy-api\",\"step\":\"rollout\",\"status\":\"failure\",\"started_at\":\"2026-11-21T05:11:03Z\",\"finished_at\":\"2026-11-21T05:12:40Z\",\"exit_code\":1,\"attempt\":2}"

  expect {
    kind   = "workflow_step"
    entity = { pipeline = "deploy-api", run_id = "d-77", step = "rollout" }
    fields = { status = "failure", exit_code = 1, attempt = 2 }
  }
}

test "workflow_step_defaults_attempt" {
  transform = transform.workflow_step
  input     = "{\"type\":\"workflow_step\",\"run_id\":9001,\"pipeline\":\"build-api\",\"step\":\"checkout\",\"status\":\"success\",\"started_at\":\"2026-11-21T05:00:01Z\",\"exit_code\":0}"

  expect {
    entity = { pipeline = "build-api", run_id = "9001", step = "checkout" }
    fields = { attempt = 1, exit_code = 0 }
  }
}

test "workflow_step_ignores_runs" {
  transform = transform.workflow_step
  input     = "{\"type\":\"workflow_run\",\"run_id\":9001,\"pipeline\":\"build-api\",\"status\":\"running\",\"started_at\":\"2026-11-21T05:00:00Z\"}"
  dropped   = 1
}

test "ci_events_not_json" {
  transform = transform.ci_events
  input     = "{\"type\":\"workflow_step\",\"run_id\":9002,\"pipeline\":\"build-web\",\"step\":\"lint\",\"status\":\"runn"

  expect_dead_letter {
    reason = "bad_json"
  }
}

test "ci_events_other_types_dropped" {
  transform = transform.ci_events
  inputs = [
    "{\"type\":\"runner_heartbeat\",\"runner\":\"ci-runner-7\"}",
    "{\"type\":\"workflow_run\",\"run_id\":1,\"pipeline\":\"p\",\"status\":\"queued\",\"started_at\":\"2026-11-21T05:00:00Z\"}",
  ]
  dropped = 1

  expect {
    fields = { type = "workflow_run" }
  }
}
