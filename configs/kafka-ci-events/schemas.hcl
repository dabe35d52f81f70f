# workflow_run: one run of a CI/CD pipeline (a build, a deploy), as its
# final (or latest) state. Entity: pipeline, run_id.
schema "workflow_run" {
  version        = "1"
  unknown_fields = "allow"

  field "run_id" {
    type     = "string"
    required = true
  }
  field "pipeline" {
    type     = "string"
    required = true
  }
  field "status" {
    type     = "enum"
    values   = ["queued", "running", "success", "failure", "cancelled", "skipped"]
    required = true
  }
  field "started_at" {
    type     = "time"
    required = true
  }
  field "finished_at" {
    type = "time"
  }
  field "triggered_by" {
    type = "string"
  }
  field "commit" {
    type    = "string"
    pattern = "^[0-9a-f]{7,40}$"
  }
  field "inputs" {
    type    = "map"
    default = {}
  }
  field "artifacts" {
    type    = "list"
    items   = "string"
    default = []
  }
  field "images" {
    type    = "list"
    items   = "string"
    default = []
  }
  field "duration_s" {
    type = "float"
    min  = 0
  }
}

# workflow_step: one step (job) of a pipeline run. Entity: pipeline,
# run_id, step.
schema "workflow_step" {
  version        = "1"
  unknown_fields = "allow"

  field "run_id" {
    type     = "string"
    required = true
  }
  field "pipeline" {
    type     = "string"
    required = true
  }
  field "step" {
    type     = "string"
    required = true
  }
  field "status" {
    type     = "enum"
    values   = ["queued", "running", "success", "failure", "cancelled", "skipped"]
    required = true
  }
  field "started_at" {
    type     = "time"
    required = true
  }
  field "finished_at" {
    type = "time"
  }
  field "exit_code" {
    type = "int"
  }
  field "attempt" {
    type    = "int"
    min     = 1
    default = 1
  }
  field "runner" {
    type = "string"
  }
}
