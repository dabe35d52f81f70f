# A complete schema block: one CI job run, as a build system logs it.
# It uses every field type and every field attribute. example_test.go
# loads this file and checks a record against it.
#
# A transform refers to it with  schema = schema.ci_job  (no quotes).
schema "ci_job" {
  version        = "3"      # copied into dead letters as schema_version
  unknown_fields = "reject" # allow (default), drop or reject

  field "job_id" {
    type     = "string"
    required = true
    pattern  = "^[a-z0-9-]{8,64}$"
    volatile = true # differs on every run: octoagent diff leaves it out
  }
  field "pipeline" {
    type     = "string"
    required = true
    min      = 1 # for strings, min and max bound the length in bytes
    max      = 200
  }
  field "status" {
    type     = "enum"
    values   = ["success", "failed", "canceled", "skipped"]
    required = true
  }
  field "attempt" {
    type    = "int"
    min     = 1
    max     = 10
    default = 1
  }
  field "exit_code" {
    type        = "int"
    null_values = ["-", ""] # "-" and "" mean no value: the field is left out
  }
  field "cpu_seconds" {
    type = "float"
    min  = 0
  }
  field "cached" {
    type    = "bool"
    default = false
  }
  field "started_at" {
    type     = "time" # RFC 3339 strings, or unix seconds
    required = true
  }
  field "finished_at" {
    type   = "time"
    layout = "02/Jan/2006:15:04:05 -0700" # a Go layout for string values
  }
  field "duration" {
    type = "duration" # "1m30s", or a number of seconds
  }
  field "runner_ip" {
    type = "ip"
  }
  field "log_url" {
    type = "url"
  }
  field "tags" {
    type  = "list"
    items = "string"
    max   = 20 # for lists, min and max bound the number of items
  }
  field "step_exit_codes" {
    type  = "list"
    items = "int"
  }
  field "env" {
    type = "map"
  }
}
