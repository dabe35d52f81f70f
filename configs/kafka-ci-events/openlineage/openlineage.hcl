# OpenLineage RunEvents from the CI records, for Marquez, DataHub or any
# OpenLineage endpoint (sinks/openlineage/README.md has the mapping
# reference and a worked example):
#
#   OPENLINEAGE_URL=http://marquez:5000 KAFKA_BROKERS=kafka-1:9092 \
#     octoagent run -c configs/schemas -c configs/kafka-ci-events -c configs/kafka-ci-events/openlineage
#
# OPENLINEAGE_URL is the API's base URL (events go to /api/v1/lineage),
# OPENLINEAGE_API_KEY an optional bearer token, OPENLINEAGE_NAMESPACE the
# job namespace (default "ci"). This folder is apart from the pack so that
# loading the pack alone adds no sink.
#
# A workflow run is a run of the job PIPELINE; each step (each attempt of
# it) is a run of the job PIPELINE.STEP whose parent is its workflow's run.
# queued and running give START, success COMPLETE, failure FAIL, cancelled
# and skipped ABORT. Run ids are UUIDv5 of the job and the CI's run id (and
# the step's attempt), so the START and the end of a run meet whichever
# agent reads them, and a replay sends the same events. A CI that reports
# a run as queued and then as running sends two STARTs for it.
sink "openlineage" "ci" {
  inputs = [transform.workflow_run, transform.workflow_step]

  transport "http" {
    url   = env("OPENLINEAGE_URL")
    token = env("OPENLINEAGE_API_KEY", "")
  }

  mapping "workflow_run" {
    schema        = schema.workflow_run
    event_type    = "status in ['queued', 'running'] ? 'START' : status == 'success' ? 'COMPLETE' : status == 'failure' ? 'FAIL' : 'ABORT'"
    event_time    = "status in ['queued', 'running'] ? started_at : finished_at ?? started_at"
    job_namespace = "'${env("OPENLINEAGE_NAMESPACE", "ci")}'"
    job_name      = "pipeline"
    run_key       = "run_id"

    error_message {
      message = "status == 'failure' ? 'workflow ' + pipeline + ' run ' + run_id + ' failed' : nil"
    }
    job_type {
      processing_type = "'BATCH'"
      integration     = "'CI'"
      job_type        = "'WORKFLOW'"
    }
    # A scheduled (cron) run says when it was due.
    nominal_time {
      start = "$env['scheduled_at']"
    }
    # A deploy names the image it ships.
    input "image" {
      dataset = "inputs?.image == nil ? nil : image_dataset(inputs.image)"
    }
    output "artifacts" {
      for_each = "artifacts"
      dataset  = "url_dataset(each)"
    }
    output "images" {
      for_each = "images"
      dataset  = "image_dataset(each)"
    }
  }

  mapping "workflow_step" {
    schema        = schema.workflow_step
    event_type    = "status in ['queued', 'running'] ? 'START' : status == 'success' ? 'COMPLETE' : status == 'failure' ? 'FAIL' : 'ABORT'"
    event_time    = "status in ['queued', 'running'] ? started_at : finished_at ?? started_at"
    job_namespace = "'${env("OPENLINEAGE_NAMESPACE", "ci")}'"
    job_name      = "pipeline + '.' + step"
    run_key       = "run_id + '#' + string(attempt)"

    parent {
      job_namespace = "'${env("OPENLINEAGE_NAMESPACE", "ci")}'"
      job_name      = "pipeline"
      run_key       = "run_id"
    }
    error_message {
      message = "status == 'failure' ? 'step ' + step + ' failed' + (exit_code == nil ? '' : ' with exit code ' + string(exit_code)) : nil"
    }
    job_type {
      processing_type = "'BATCH'"
      integration     = "'CI'"
      job_type        = "'STEP'"
    }
  }
}
