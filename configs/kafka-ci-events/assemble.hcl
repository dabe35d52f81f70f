# One workflow_run_summary per CI run: the run's own events (running, then
# its end) and its steps' events, gathered into one record when the run's
# terminal event arrives: the run's id, workflow, trigger, commit,
# parameters, start, end, status and duration, and per step its name,
# status, duration, exit code, parameters and outputs, in the order the
# steps started. `octoagent diff` compares two of them (see README.md).
#
# The open runs live in the data directory
# (data_dir/state/transform.workflow_run_summary.json), saved in step with
# the Kafka offsets: a restart in the middle of a run neither loses its
# steps nor emits it twice.

transform "assemble" "workflow_run_summary" {
  inputs = [transform.workflow_run, transform.workflow_step]
  kind   = "workflow_run_summary"
  schema = schema.workflow_run_summary
  key    = "pipeline + '#' + run_id"
  entity = ["workflow", "run_id"]
  # The run's end and its last step come through two transforms: wait a
  # little after the end for a step still on its way.
  settle = "5s"
  # A run with no end after 6 hours without news is summarized, marked
  # incomplete (incomplete_reason = "timeout").
  timeout = "6h"

  header {
    kinds  = ["workflow_run"]
    schema = schema.workflow_run
    fields = {
      run_id      = "run_id"
      workflow    = "pipeline"
      trigger     = "triggered_by"
      commit      = "commit"
      parameters  = "inputs"
      status      = "status"
      started_at  = "started_at"
      finished_at = "finished_at"
      duration_s  = "duration_s ?? (finished_at != nil ? (finished_at - started_at).Seconds() : nil)"
    }
  }

  part "steps" {
    kinds  = ["workflow_step"]
    schema = schema.workflow_step
    id     = "step"
    fields = {
      name       = "step"
      status     = "status"
      duration_s = "finished_at != nil ? (finished_at - started_at).Seconds() : nil"
      exit_code  = "exit_code"
      attempt    = "attempt"
      parameters = "inputs ?? {}"
      outputs    = "outputs ?? {}"
    }
  }

  complete {
    kinds = ["workflow_run"]
    when  = "status in ['success', 'failure', 'cancelled', 'skipped']"
  }
}

# The summary's schema. volatile marks what differs between any two runs
# by nature: octoagent diff leaves it out unless given --all.
schema "workflow_run_summary" {
  version        = "1"
  unknown_fields = "allow"

  field "run_id" {
    type     = "string"
    required = true
    volatile = true
  }
  field "workflow" {
    type     = "string"
    required = true
  }
  field "status" {
    type     = "enum"
    values   = ["queued", "running", "success", "failure", "cancelled", "skipped"]
    required = true
  }
  field "trigger" {
    type = "string"
  }
  field "commit" {
    type = "string"
  }
  field "parameters" {
    type    = "map"
    default = {}
  }
  field "started_at" {
    type     = "time"
    volatile = true
  }
  field "finished_at" {
    type     = "time"
    volatile = true
  }
  field "duration_s" {
    type = "float"
    min  = 0
  }
  field "steps" {
    type    = "list"
    default = []
  }
  field "complete" {
    type     = "bool"
    required = true
  }
  field "incomplete_reason" {
    type   = "enum"
    values = ["timeout", "evicted"]
  }
}
