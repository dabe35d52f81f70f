# "Which deployments rolled out in this namespace before this pod started
# crashlooping?", answered by the agent: each crashlooping pod (its first
# pod_crashloop record) gets one crashloop_context record listing the last
# 3 rollouts of its namespace before it, newest first, with their
# deployment, ReplicaSet, revision, images, time and the delay before the
# crashloop, and the pod's owner. The rollouts are remembered in the data
# directory (data_dir/state/transform.k8s_crashloop_context.json), saved in
# step with the source's position, so a restart gives the same answer with
# the same id. Needs enrich_owners = true on the source (source.hcl sets
# it) for the images, revisions and owners.
#
#   octoagent run -c configs/kubernetes-events -c my-sinks.hcl
#
# and read transform.k8s_crashloop_context in a sink. See README.md.

transform "correlate" "k8s_crashloop_context" {
  inputs = [transform.k8s_deployment_rollout, transform.k8s_pod_crashloop]
  kind   = "crashloop_context"

  # A rollout scales a ReplicaSet up from zero (the first note has no
  # "from", or "from 0"); the later steps of the same one are not new
  # rollouts, and neither are scale-downs.
  remember {
    kinds = ["deployment_rollout"]
    when  = "direction == 'up' && (from_replicas ?? '') in ['', '0']"
    key   = "namespace"
    fields = {
      deployment = "deployment"
      replicaset = "replicaset"
      revision   = "rollout?.revision"
      images     = "rollout?.images ?? images"
    }
    max_per_key = 10 # a few more than listed
    max_age     = "24h"
  }

  # One answer per crashlooping pod (its first BackOff seen), for a day.
  trigger {
    kinds = ["pod_crashloop"]
    key   = "namespace"
    once  = "pod"
    list  = "rollouts"
    limit = 3
    fields = {
      namespace  = "namespace"
      pod        = "pod"
      container  = "container"
      owner_kind = "workload_kind"
      owner_name = "workload_name"
      owners     = "owners"
    }
    entity = ["namespace", "pod"]
  }
}
