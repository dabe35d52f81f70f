# One summary per CI run, from the run's events and its steps' events, JSON
# lines on standard input here; configs/kafka-ci-events/assemble.hcl reads
# them from Kafka, typed by the pack's schemas.
agent {
  data_dir = "/var/lib/octoagent" # open runs are saved in data_dir/state/
}

source "stdin" "ci" {}

transform "runs" {
  inputs = [source.stdin.ci]
  kind   = "workflow_run"
  parse "json" {}
  where = "$env['type'] == 'workflow_run'"
}

transform "steps" {
  inputs = [source.stdin.ci]
  kind   = "workflow_step"
  parse "json" {}
  where = "$env['type'] == 'workflow_step'"
}

transform "assemble" "run_summary" {
  inputs  = [transform.runs, transform.steps]
  kind    = "workflow_run_summary"
  key     = "pipeline + '/' + string(run_id)" # one group per run
  entity  = ["workflow", "run_id"]
  settle  = "2s" # after the run's end, for steps still on their way
  timeout = "6h" # no end by then: summarized, marked incomplete

  # The run's own events (running, then its end): the latest sets these.
  header {
    kinds  = ["workflow_run"]
    fields = { run_id = "string(run_id)", workflow = "pipeline", status = "status", commit = "commit" }
  }

  # One entry per step (its latest event), in the order the steps started.
  part "steps" {
    kinds  = ["workflow_step"]
    id     = "step"
    fields = { name = "step", status = "status" }
  }

  # The event that ends a run.
  complete {
    kinds = ["workflow_run"]
    when  = "status in ['success', 'failure', 'cancelled']"
  }
}

sink "stdout" "out" {
  inputs = [transform.run_summary]
}
