# CI events (one JSON object per line) become OpenLineage RunEvents for
# Marquez: a workflow run is a job run, each step a run whose parent is
# its workflow's run.
source "stdin" "ci" {}

schema "workflow_step" {
  field "pipeline" {
    type     = "string"
    required = true
  }
  field "run_id" {
    type     = "string"
    required = true
  }
  field "step" {
    type     = "string"
    required = true
  }
  field "status" {
    type     = "enum"
    values   = ["running", "success", "failure", "cancelled"]
    required = true
  }
  field "started_at" {
    type     = "time"
    required = true
  }
  field "finished_at" {
    type = "time"
  }
  field "artifacts" {
    type    = "list"
    items   = "string"
    default = []
  }
}

transform "steps" {
  inputs = [source.stdin.ci]
  kind   = "workflow_step"
  schema = schema.workflow_step
  parse "json" {}
  timestamp {
    field  = "started_at"
    layout = "rfc3339"
  }
}

sink "openlineage" "marquez" {
  inputs = [transform.steps]

  transport "http" {
    url   = env("OPENLINEAGE_URL", "http://localhost:5000") # + /api/v1/lineage
    token = env("OPENLINEAGE_API_KEY", "")                 # Authorization: Bearer
  }

  mapping "workflow_step" {
    schema        = schema.workflow_step # type-checks the expressions
    event_type    = "status == 'running' ? 'START' : status == 'success' ? 'COMPLETE' : status == 'failure' ? 'FAIL' : 'ABORT'"
    event_time    = "finished_at ?? started_at"
    job_namespace = "'ci'"
    job_name      = "pipeline + '.' + step"
    run_key       = "run_id" # runId = UUIDv5 of the job and this key

    parent {
      job_namespace = "'ci'"
      job_name      = "pipeline"
      run_key       = "run_id"
    }
    error_message {
      message = "status == 'failure' ? 'step ' + step + ' failed' : nil"
    }
    job_type {
      processing_type = "'BATCH'"
      integration     = "'CI'"
      job_type        = "'STEP'"
    }
    output "artifacts" {
      for_each = "artifacts"
      dataset  = "url_dataset(each)" # s3://bucket/key → s3://bucket, key
    }
  }
}

sink "stdout" "rejects" {
  inputs = [transform.steps.dead_letter, sink.openlineage.marquez.dead_letter]
}
