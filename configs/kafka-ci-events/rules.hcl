# CI events become workflow_run and workflow_step records.
#
# ci_events parses each message as JSON once: a message that is not a JSON
# object becomes one dead letter, here, and events of other types are
# dropped and counted (octoagent_component_dropped_records_total). The two
# typed transforms read what passed and keep their own event type with a
# jq `select` (the other type is dropped); the schema then types and checks
# the fields, so every event ends as exactly one typed record or one dead
# letter. (The filter is jq rather than a `where` after a second parse: a
# parse types the fields as it captures them, so an event of the other type
# with a bad value would be dead-lettered twice.) The jq query also accepts
# a raw line (`.message`), which is how `octoagent test` feeds a transform;
# `walk(... . + 0 ...)` turns the numbers `fromjson` makes into plain ones,
# which the schema's int and float checks take.
# `type` is a builtin of the expression language, so `where` writes the
# field as $env["type"].
transform "ci_events" {
  inputs = [source.kafka.ci]

  parse "json" {}
  where = "$env[\"type\"] in [\"workflow_run\", \"workflow_step\"]"
}

transform "workflow_run" {
  inputs = [transform.ci_events]
  kind   = "workflow_run"
  schema = schema.workflow_run
  entity = ["pipeline", "run_id"]

  # outputs.artifacts and outputs.images become top-level lists.
  jq = <<-JQ
    (if has("message") and (has("type") | not) then .message | fromjson | walk(if type == "number" then . + 0 else . end) else . end)
    | select(.type == "workflow_run")
    | .artifacts = (.outputs.artifacts // [])
    | .images = (.outputs.images // [])
  JQ

  timestamp {
    field  = "started_at"
    layout = "rfc3339"
  }
}

transform "workflow_step" {
  inputs = [transform.ci_events]
  kind   = "workflow_step"
  schema = schema.workflow_step
  entity = ["pipeline", "run_id", "step"]

  jq = <<-JQ
    (if has("message") and (has("type") | not) then .message | fromjson | walk(if type == "number" then . + 0 else . end) else . end)
    | select(.type == "workflow_step")
  JQ

  timestamp {
    field  = "started_at"
    layout = "rfc3339"
  }
}
