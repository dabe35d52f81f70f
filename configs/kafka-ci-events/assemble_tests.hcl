# Run with: octoagent test -c configs/schemas -c configs/kafka-ci-events
# The records are what workflow_run and workflow_step make of the sample's
# events (sample-ci-events.jsonl).

test "workflow_run_summary_of_a_failed_deploy" {
  transform = transform.workflow_run_summary
  records = [
    { kind = "workflow_run", time = "2026-11-21T05:06:00Z", fields = { type = "workflow_run", run_id = "d-77", pipeline = "deploy-api", status = "running", inputs = { image = "registry.example.com/api:3f9c2ab", env = "prod" }, started_at = "2026-11-21T05:06:00Z", triggered_by = "workflow:build-api#9001" } },
    { kind = "workflow_step", time = "2026-11-21T05:06:02Z", fields = { type = "workflow_step", run_id = "d-77", pipeline = "deploy-api", step = "canary", status = "success", started_at = "2026-11-21T05:06:02Z", finished_at = "2026-11-21T05:11:02Z", exit_code = 0, attempt = 1 } },
    { kind = "workflow_step", time = "2026-11-21T05:11:03Z", fields = { type = "workflow_step", run_id = "d-77", pipeline = "deploy-api", step = "rollout", status = "running", started_at = "2026-11-21T05:11:03Z", attempt = 2 } },
    { kind = "workflow_step", time = "2026-11-21T05:11:03Z", fields = { type = "workflow_step", run_id = "d-77", pipeline = "deploy-api", step = "rollout", status = "failure", started_at = "2026-11-21T05:11:03Z", finished_at = "2026-11-21T05:12:40Z", exit_code = 1, attempt = 2 } },
    { kind = "workflow_run", time = "2026-11-21T05:06:00Z", fields = { type = "workflow_run", run_id = "d-77", pipeline = "deploy-api", status = "failure", inputs = { image = "registry.example.com/api:3f9c2ab", env = "prod" }, started_at = "2026-11-21T05:06:00Z", finished_at = "2026-11-21T05:12:41Z", duration_s = 401, triggered_by = "workflow:build-api#9001" } },
  ]

  expect {
    kind   = "workflow_run_summary"
    entity = { workflow = "deploy-api", run_id = "d-77" }
    fields = {
      run_id      = "d-77"
      workflow    = "deploy-api"
      trigger     = "workflow:build-api#9001"
      status      = "failure"
      complete    = true
      started_at  = "2026-11-21T05:06:00Z"
      finished_at = "2026-11-21T05:12:41Z"
      duration_s  = 401
      parameters  = { image = "registry.example.com/api:3f9c2ab", env = "prod" }
      steps = [
        { name = "canary", status = "success", duration_s = 300, exit_code = 0, attempt = 1, parameters = {}, outputs = {} },
        { name = "rollout", status = "failure", duration_s = 97, exit_code = 1, attempt = 2, parameters = {}, outputs = {} },
      ]
    }
  }
}

test "workflow_run_summary_waits_for_the_end" {
  transform = transform.workflow_run_summary
  records = [
    { kind = "workflow_run", time = "2026-11-21T05:00:00Z", fields = { type = "workflow_run", run_id = "9001", pipeline = "build-api", status = "running", started_at = "2026-11-21T05:00:00Z" } },
    { kind = "workflow_step", time = "2026-11-21T05:00:01Z", fields = { type = "workflow_step", run_id = "9001", pipeline = "build-api", step = "checkout", status = "success", started_at = "2026-11-21T05:00:01Z", finished_at = "2026-11-21T05:00:04Z" } },
  ]
  # No terminal event: nothing yet (the run stays open, and is summarized
  # as incomplete if its end does not come within the timeout).
  dropped = 2
}
