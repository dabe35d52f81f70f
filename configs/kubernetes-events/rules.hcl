# Kubernetes events (source "kubernetes_events": each record's line is the
# event as JSON, see adapters/kubernetesevents/README.md) become typed
# records. Each transform keeps, with its `where`, the events of one kind;
# the conditions are disjoint (BackOff is image_pull when its note is about
# an image, else pod_crashloop), and k8s_event keeps every event no other
# transform keeps (its where is the negation of all the others: keep them in
# step when adding a kind). The record time is
# the event's last occurrence.
#
#   octoagent run -c configs/kubernetes-events -c my-sinks.hcl

transform "k8s_deployment_rollout" {
  inputs = [source.kubernetes_events.cluster]
  kind   = "deployment_rollout"

  parse "json" {}
  where = "reason == 'ScalingReplicaSet' && regarding?.kind == 'Deployment'"
  timestamp {
    field  = "last_time"
    layout = "rfc3339"
  }
  set {
    deployment = "regarding.name"
  }
  parse "regex" {
    field    = "note"
    patterns = ["^Scaled (?P<direction>up|down) replica set (?P<replicaset>\\S+) (?:from (?P<from_replicas>\\d+) )?to (?P<replicas>\\d+)", "^"]
  }
  entity = ["namespace", "deployment"]
}

transform "k8s_pod_created" {
  inputs = [source.kubernetes_events.cluster]
  kind   = "pod_created"

  parse "json" {}
  where = "reason == 'SuccessfulCreate' && ((note ?? '') startsWith 'Created pod' || (note ?? '') startsWith 'create Pod')"
  timestamp {
    field  = "last_time"
    layout = "rfc3339"
  }
  parse "regex" {
    field    = "note"
    patterns = ["^Created pod: (?P<pod>\\S+)", "^create Pod (?P<pod>\\S+) in"]
  }
  set {
    owner_kind = "regarding.kind"
    owner_name = "regarding.name"
  }
  entity = ["namespace", "pod"]
}

transform "k8s_pod_deleted" {
  inputs = [source.kubernetes_events.cluster]
  kind   = "pod_deleted"

  parse "json" {}
  where = "reason == 'SuccessfulDelete' && ((note ?? '') startsWith 'Deleted pod' || (note ?? '') startsWith 'delete Pod')"
  timestamp {
    field  = "last_time"
    layout = "rfc3339"
  }
  parse "regex" {
    field    = "note"
    patterns = ["^Deleted pod: (?P<pod>\\S+)", "^delete Pod (?P<pod>\\S+) in"]
  }
  set {
    owner_kind = "regarding.kind"
    owner_name = "regarding.name"
  }
  entity = ["namespace", "pod"]
}

transform "k8s_pod_crashloop" {
  inputs = [source.kubernetes_events.cluster]
  kind   = "pod_crashloop"

  parse "json" {}
  where = "reason == 'BackOff' && regarding?.kind == 'Pod' && !(lower(note ?? '') contains 'image')"
  timestamp {
    field  = "last_time"
    layout = "rfc3339"
  }
  parse "regex" {
    field    = "note"
    patterns = ["restarting failed container (?P<container>\\S+) in pod", "^"]
  }
  set {
    pod = "regarding.name"
    # The pod's deployment, when enrich_owners found one.
    deployment = "workload_kind == 'Deployment' ? workload_name : nil"
  }
  entity = ["namespace", "pod"]
}

transform "k8s_image_pull" {
  inputs = [source.kubernetes_events.cluster]
  kind   = "image_pull"

  parse "json" {}
  where = "regarding?.kind == 'Pod' && (reason == 'Pulled' || (reason in ['Failed', 'BackOff'] && lower(note ?? '') contains 'image'))"
  timestamp {
    field  = "last_time"
    layout = "rfc3339"
  }
  parse "regex" {
    field    = "note"
    patterns = ["[Ii]mage \"(?P<image>[^\"]+)\"", "^"]
  }
  set {
    pod     = "regarding.name"
    outcome = "reason == 'Pulled' ? 'pulled' : (reason == 'BackOff' ? 'backoff' : 'failed')"
  }
  entity = ["namespace", "pod"]
}

transform "k8s_oom_killed" {
  inputs = [source.kubernetes_events.cluster]
  kind   = "oom_killed"

  parse "json" {}
  where = "reason in ['OOMKilling', 'SystemOOM', 'OOMKilled']"
  timestamp {
    field  = "last_time"
    layout = "rfc3339"
  }
  set {
    object_kind = "regarding.kind"
    object_name = "regarding.name"
  }
  entity = ["namespace", "object_kind", "object_name"]
}

transform "k8s_scheduling_failed" {
  inputs = [source.kubernetes_events.cluster]
  kind   = "scheduling_failed"

  parse "json" {}
  where = "reason == 'FailedScheduling'"
  timestamp {
    field  = "last_time"
    layout = "rfc3339"
  }
  set {
    pod = "regarding.name"
  }
  entity = ["namespace", "pod"]
}

transform "k8s_node_condition" {
  inputs = [source.kubernetes_events.cluster]
  kind   = "node_condition"

  parse "json" {}
  where = "regarding?.kind == 'Node' && reason in ['NodeReady', 'NodeNotReady', 'NodeSchedulable', 'NodeNotSchedulable', 'NodeHasSufficientMemory', 'NodeHasInsufficientMemory', 'NodeHasNoDiskPressure', 'NodeHasDiskPressure', 'NodeHasSufficientPID', 'NodeHasInsufficientPID', 'Rebooted']"
  timestamp {
    field  = "last_time"
    layout = "rfc3339"
  }
  set {
    node      = "regarding.name"
    condition = "reason"
  }
  entity = ["node"]
}

# Every other event, about its object.
transform "k8s_event" {
  inputs = [source.kubernetes_events.cluster]
  kind   = "k8s_event"

  parse "json" {}
  where = "!((reason == 'ScalingReplicaSet' && regarding?.kind == 'Deployment') || (reason == 'SuccessfulCreate' && ((note ?? '') startsWith 'Created pod' || (note ?? '') startsWith 'create Pod')) || (reason == 'SuccessfulDelete' && ((note ?? '') startsWith 'Deleted pod' || (note ?? '') startsWith 'delete Pod')) || (reason == 'BackOff' && regarding?.kind == 'Pod' && !(lower(note ?? '') contains 'image')) || (regarding?.kind == 'Pod' && (reason == 'Pulled' || (reason in ['Failed', 'BackOff'] && lower(note ?? '') contains 'image'))) || (reason in ['OOMKilling', 'SystemOOM', 'OOMKilled']) || (reason == 'FailedScheduling') || (regarding?.kind == 'Node' && reason in ['NodeReady', 'NodeNotReady', 'NodeSchedulable', 'NodeNotSchedulable', 'NodeHasSufficientMemory', 'NodeHasInsufficientMemory', 'NodeHasNoDiskPressure', 'NodeHasDiskPressure', 'NodeHasSufficientPID', 'NodeHasInsufficientPID', 'Rebooted']))"
  timestamp {
    field  = "last_time"
    layout = "rfc3339"
  }
  set {
    object_kind = "regarding?.kind ?? ''"
    object_name = "regarding?.name ?? ''"
  }
  entity = ["namespace", "object_kind", "object_name"]
}
