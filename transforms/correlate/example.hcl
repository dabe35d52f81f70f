# Which deployments rolled out in a namespace before a pod started
# crashlooping? Events come as JSON lines on standard input here;
# configs/kubernetes-events/crashloop_context.hcl answers it from the API
# server.
agent {
  data_dir = "/var/lib/octoagent" # the window is saved in data_dir/state/
}

source "stdin" "events" {}

transform "rollouts" {
  inputs = [source.stdin.events]
  kind   = "deployment_rollout"
  parse "json" {}
  where = "reason == 'ScalingReplicaSet'"
}

transform "crashloops" {
  inputs = [source.stdin.events]
  kind   = "pod_crashloop"
  parse "json" {}
  where = "reason == 'BackOff'"
}

transform "correlate" "crashloop_context" {
  inputs = [transform.rollouts, transform.crashloops]
  kind   = "crashloop_context"

  # The rollouts, per namespace: the last 3 of the last day.
  remember {
    kinds       = ["deployment_rollout"]
    key         = "namespace"
    fields      = { deployment = "deployment", image = "image" }
    max_per_key = 3
    max_age     = "24h"
  }

  # Each crashlooping pod, once, with the rollouts of its namespace
  # before it, newest first.
  trigger {
    kinds  = ["pod_crashloop"]
    key    = "namespace"
    once   = "pod"
    list   = "rollouts"
    fields = { namespace = "namespace", pod = "pod" }
    entity = ["namespace", "pod"]
  }
}

sink "stdout" "out" {
  inputs = [transform.crashloop_context]
}
