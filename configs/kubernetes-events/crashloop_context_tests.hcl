# Run with: octoagent test -c configs/schemas -c configs/kubernetes-events
# The records are what k8s_deployment_rollout and k8s_pod_crashloop make
# (only the fields crashloop_context reads).

test "crashloop_context_lists_the_last_3_rollouts_before" {
  transform = transform.k8s_crashloop_context
  records = [
    { kind = "deployment_rollout", time = "2026-11-21T05:00:00Z", fields = { namespace = "shop", deployment = "api", direction = "up", replicaset = "api-5d4f", rollout = { replica_set = "api-5d4f", revision = 1, images = ["registry.example/api:1.0"] } } },
    { kind = "deployment_rollout", time = "2026-11-21T05:10:00Z", fields = { namespace = "shop", deployment = "api", direction = "up", replicaset = "api-66b8", from_replicas = "0", rollout = { replica_set = "api-66b8", revision = 2, images = ["registry.example/api:2.0"] } } },
    { kind = "deployment_rollout", time = "2026-11-21T05:11:00Z", fields = { namespace = "shop", deployment = "api", direction = "down", replicaset = "api-5d4f", from_replicas = "1" } },
    { kind = "deployment_rollout", time = "2026-11-21T05:12:00Z", fields = { namespace = "other", deployment = "db", direction = "up", replicaset = "db-1a", rollout = { replica_set = "db-1a", revision = 4, images = ["registry.example/db:4"] } } },
    { kind = "deployment_rollout", time = "2026-11-21T05:15:00Z", fields = { namespace = "shop", deployment = "web", direction = "up", replicaset = "web-77c9", rollout = { replica_set = "web-77c9", revision = 9, images = ["registry.example/web:9"] } } },
    { kind = "deployment_rollout", time = "2026-11-21T05:20:00Z", fields = { namespace = "shop", deployment = "api", direction = "up", replicaset = "api-7f9c", rollout = { replica_set = "api-7f9c", revision = 3, images = ["registry.example/api:3.0"] } } },
    { kind = "pod_crashloop", time = "2026-11-21T05:21:30Z", fields = { namespace = "shop", pod = "api-7f9c-x2k", container = "app", count = 1, workload_kind = "Deployment", workload_name = "api", owners = [{ kind = "ReplicaSet", name = "api-7f9c" }, { kind = "Deployment", name = "api" }] } },
    { kind = "pod_crashloop", time = "2026-11-21T05:22:30Z", fields = { namespace = "shop", pod = "api-7f9c-x2k", container = "app", count = 2, workload_kind = "Deployment", workload_name = "api" } },
  ]

  expect {
    kind   = "crashloop_context"
    entity = { namespace = "shop", pod = "api-7f9c-x2k" }
    fields = { namespace = "shop", pod = "api-7f9c-x2k", container = "app", owner_kind = "Deployment", owner_name = "api" }
    # Newest first: api rev 3, web rev 9, api rev 2 (the scale-down, the
    # other namespace and the oldest api rollout are not listed).
    condition = "map(rollouts, .deployment + ':' + string(.revision)) == ['api:3', 'web:9', 'api:2'] && rollouts[0].images == ['registry.example/api:3.0'] && rollouts[0].delay_s == 90.0 && rollouts[0].replicaset == 'api-7f9c' && owners[1].name == 'api'"
  }
}

test "crashloop_context_without_rollouts" {
  transform = transform.k8s_crashloop_context
  records = [
    { kind = "pod_crashloop", time = "2026-11-21T05:21:30Z", fields = { namespace = "quiet", pod = "cron-1", container = "job", count = 1 } },
  ]

  expect {
    entity    = { namespace = "quiet", pod = "cron-1" }
    fields    = { rollouts = [] }
    condition = "owner_kind == nil"
  }
}
