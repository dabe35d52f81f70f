# Run with: octoagent test -c configs/schemas -c configs/kubernetes-events

test "rollout_scaled_up" {
  transform = transform.k8s_deployment_rollout
  input     = <<-EOT
    {"api_version":"events.k8s.io/v1","uid":"u-1","namespace":"shop","name":"web.18a1","resource_version":"1234","reason":"ScalingReplicaSet","type":"Normal","note":"Scaled up replica set web-5d4f8b to 3","regarding":{"api_version":"apps/v1","kind":"Deployment","namespace":"shop","name":"web","uid":"r-1"},"reporting_controller":"deployment-controller","count":1,"first_time":"2026-11-21T05:00:00Z","last_time":"2026-11-21T05:00:07Z"}
  EOT

  expect {
    kind   = "deployment_rollout"
    entity = { namespace = "shop", deployment = "web" }
    fields = { direction = "up", replicaset = "web-5d4f8b", replicas = "3", count = 1, type = "Normal" }
  }
}

test "rollout_scaled_down_from" {
  transform = transform.k8s_deployment_rollout
  input     = <<-EOT
    {"api_version":"events.k8s.io/v1","uid":"u-1","namespace":"shop","name":"web.18a1","resource_version":"1234","reason":"ScalingReplicaSet","type":"Normal","note":"Scaled down replica set web-77c9 from 3 to 1","regarding":{"api_version":"apps/v1","kind":"Deployment","namespace":"shop","name":"web","uid":"r-1"},"reporting_controller":"deployment-controller","count":1,"first_time":"2026-11-21T05:00:00Z","last_time":"2026-11-21T05:00:07Z"}
  EOT

  expect {
    entity = { namespace = "shop", deployment = "web" }
    fields = { direction = "down", replicaset = "web-77c9", from_replicas = "3", replicas = "1" }
  }
}

test "rollout_ignores_backoff" {
  transform = transform.k8s_deployment_rollout
  input     = <<-EOT
    {"api_version":"events.k8s.io/v1","uid":"u-1","namespace":"shop","name":"api-1.18a1","resource_version":"1234","reason":"BackOff","type":"Normal","note":"Back-off restarting failed container app in pod api-1_shop(abc)","regarding":{"api_version":"v1","kind":"Pod","namespace":"shop","name":"api-1","uid":"r-1"},"reporting_controller":"kubelet","count":1,"first_time":"2026-11-21T05:00:00Z","last_time":"2026-11-21T05:00:07Z"}
  EOT
  dropped   = 1
}

test "pod_created_by_replicaset" {
  transform = transform.k8s_pod_created
  input     = <<-EOT
    {"api_version":"events.k8s.io/v1","uid":"u-1","namespace":"shop","name":"web-5d4f8b.18a1","resource_version":"1234","reason":"SuccessfulCreate","type":"Normal","note":"Created pod: web-5d4f8b-x7k2p","regarding":{"api_version":"apps/v1","kind":"ReplicaSet","namespace":"shop","name":"web-5d4f8b","uid":"r-1"},"reporting_controller":"deployment-controller","count":1,"first_time":"2026-11-21T05:00:00Z","last_time":"2026-11-21T05:00:07Z"}
  EOT

  expect {
    kind   = "pod_created"
    entity = { namespace = "shop", pod = "web-5d4f8b-x7k2p" }
    fields = { owner_kind = "ReplicaSet", owner_name = "web-5d4f8b" }
  }
}

test "pod_created_by_statefulset" {
  transform = transform.k8s_pod_created
  input     = <<-EOT
    {"api_version":"events.k8s.io/v1","uid":"u-1","namespace":"shop","name":"db.18a1","resource_version":"1234","reason":"SuccessfulCreate","type":"Normal","note":"create Pod db-0 in StatefulSet db successful","regarding":{"api_version":"apps/v1","kind":"StatefulSet","namespace":"shop","name":"db","uid":"r-1"},"reporting_controller":"deployment-controller","count":1,"first_time":"2026-11-21T05:00:00Z","last_time":"2026-11-21T05:00:07Z"}
  EOT

  expect {
    entity = { namespace = "shop", pod = "db-0" }
  }
}

test "pod_created_ignores_jobs" {
  transform = transform.k8s_pod_created
  input     = <<-EOT
    {"api_version":"events.k8s.io/v1","uid":"u-1","namespace":"shop","name":"backup.18a1","resource_version":"1234","reason":"SuccessfulCreate","type":"Normal","note":"Created job backup-2911","regarding":{"api_version":"apps/v1","kind":"CronJob","namespace":"shop","name":"backup","uid":"r-1"},"reporting_controller":"deployment-controller","count":1,"first_time":"2026-11-21T05:00:00Z","last_time":"2026-11-21T05:00:07Z"}
  EOT
  dropped   = 1
}

test "pod_deleted" {
  transform = transform.k8s_pod_deleted
  input     = <<-EOT
    {"api_version":"events.k8s.io/v1","uid":"u-1","namespace":"shop","name":"web-5d4f8b.18a1","resource_version":"1234","reason":"SuccessfulDelete","type":"Normal","note":"Deleted pod: web-5d4f8b-x7k2p","regarding":{"api_version":"apps/v1","kind":"ReplicaSet","namespace":"shop","name":"web-5d4f8b","uid":"r-1"},"reporting_controller":"deployment-controller","count":1,"first_time":"2026-11-21T05:00:00Z","last_time":"2026-11-21T05:00:07Z"}
  EOT

  expect {
    kind   = "pod_deleted"
    entity = { namespace = "shop", pod = "web-5d4f8b-x7k2p" }
  }
}

test "crashloop_backoff" {
  transform = transform.k8s_pod_crashloop
  input     = <<-EOT
    {"api_version":"events.k8s.io/v1","uid":"u-1","namespace":"shop","name":"api-7f9-abcde.18a1","resource_version":"1234","reason":"BackOff","type":"Warning","note":"Back-off restarting failed container app in pod api-7f9-abcde_shop(9f1c)","regarding":{"api_version":"v1","kind":"Pod","namespace":"shop","name":"api-7f9-abcde","uid":"r-1"},"reporting_controller":"kubelet","count":6,"first_time":"2026-11-21T05:00:00Z","last_time":"2026-11-21T05:00:07Z","owners":[{"kind":"ReplicaSet","name":"api-7f9"},{"kind":"Deployment","name":"api"}],"workload_kind":"Deployment","workload_name":"api","images":["registry.example/api:1.4.2"]}
  EOT

  expect {
    kind      = "pod_crashloop"
    entity    = { namespace = "shop", pod = "api-7f9-abcde" }
    fields    = { container = "app", deployment = "api", count = 6, type = "Warning", last_time = "2026-11-21T05:00:07Z" }
    condition = "images[0] == 'registry.example/api:1.4.2'"
  }
}

test "crashloop_not_image_backoff" {
  transform = transform.k8s_pod_crashloop
  input     = <<-EOT
    {"api_version":"events.k8s.io/v1","uid":"u-1","namespace":"shop","name":"api-1.18a1","resource_version":"1234","reason":"BackOff","type":"Warning","note":"Back-off pulling image \"registry.example/api:9.9\"","regarding":{"api_version":"v1","kind":"Pod","namespace":"shop","name":"api-1","uid":"r-1"},"reporting_controller":"kubelet","count":1,"first_time":"2026-11-21T05:00:00Z","last_time":"2026-11-21T05:00:07Z"}
  EOT
  dropped   = 1
}

test "image_pulled" {
  transform = transform.k8s_image_pull
  input     = <<-EOT
    {"api_version":"events.k8s.io/v1","uid":"u-1","namespace":"shop","name":"web-1.18a1","resource_version":"1234","reason":"Pulled","type":"Normal","note":"Successfully pulled image \"nginx:1.27\" in 1.2s (1.2s including waiting). Image size: 72 bytes.","regarding":{"api_version":"v1","kind":"Pod","namespace":"shop","name":"web-1","uid":"r-1"},"reporting_controller":"kubelet","count":1,"first_time":"2026-11-21T05:00:00Z","last_time":"2026-11-21T05:00:07Z"}
  EOT

  expect {
    kind   = "image_pull"
    entity = { namespace = "shop", pod = "web-1" }
    fields = { image = "nginx:1.27", outcome = "pulled" }
  }
}

test "image_pull_failed" {
  transform = transform.k8s_image_pull
  input     = <<-EOT
    {"api_version":"events.k8s.io/v1","uid":"u-1","namespace":"shop","name":"api-1.18a1","resource_version":"1234","reason":"Failed","type":"Warning","note":"Failed to pull image \"registry.example/api:9.9\": not found","regarding":{"api_version":"v1","kind":"Pod","namespace":"shop","name":"api-1","uid":"r-1"},"reporting_controller":"kubelet","count":1,"first_time":"2026-11-21T05:00:00Z","last_time":"2026-11-21T05:00:07Z"}
  EOT

  expect {
    fields = { image = "registry.example/api:9.9", outcome = "failed" }
  }
}

test "image_pull_backoff" {
  transform = transform.k8s_image_pull
  input     = <<-EOT
    {"api_version":"events.k8s.io/v1","uid":"u-1","namespace":"shop","name":"api-1.18a1","resource_version":"1234","reason":"BackOff","type":"Warning","note":"Back-off pulling image \"registry.example/api:9.9\"","regarding":{"api_version":"v1","kind":"Pod","namespace":"shop","name":"api-1","uid":"r-1"},"reporting_controller":"kubelet","count":1,"first_time":"2026-11-21T05:00:00Z","last_time":"2026-11-21T05:00:07Z"}
  EOT

  expect {
    fields = { outcome = "backoff" }
  }
}

test "oom_killing_node" {
  transform = transform.k8s_oom_killed
  input     = <<-EOT
    {"api_version":"events.k8s.io/v1","uid":"u-1","namespace":"default","name":"node-a.18a1","resource_version":"1234","reason":"OOMKilling","type":"Warning","note":"Memory cgroup out of memory: Killed process 4242 (java)","regarding":{"api_version":"v1","kind":"Node","name":"node-a","uid":"r-1"},"reporting_controller":"kubelet","count":1,"first_time":"2026-11-21T05:00:00Z","last_time":"2026-11-21T05:00:07Z"}
  EOT

  expect {
    kind   = "oom_killed"
    entity = { namespace = "default", object_kind = "Node", object_name = "node-a" }
  }
}

test "scheduling_failed" {
  transform = transform.k8s_scheduling_failed
  input     = <<-EOT
    {"api_version":"events.k8s.io/v1","uid":"u-1","namespace":"shop","name":"api-2.18a1","resource_version":"1234","reason":"FailedScheduling","type":"Warning","note":"0/3 nodes are available: 3 Insufficient memory.","regarding":{"api_version":"v1","kind":"Pod","namespace":"shop","name":"api-2","uid":"r-1"},"reporting_controller":"kubelet","count":1,"first_time":"2026-11-21T05:00:00Z","last_time":"2026-11-21T05:00:07Z"}
  EOT

  expect {
    kind   = "scheduling_failed"
    entity = { namespace = "shop", pod = "api-2" }
  }
}

test "node_not_ready" {
  transform = transform.k8s_node_condition
  input     = <<-EOT
    {"api_version":"events.k8s.io/v1","uid":"u-1","namespace":"default","name":"node-a.18a1","resource_version":"1234","reason":"NodeNotReady","type":"Normal","note":"Node node-a status is now: NodeNotReady","regarding":{"api_version":"v1","kind":"Node","name":"node-a","uid":"r-1"},"reporting_controller":"kubelet","count":1,"first_time":"2026-11-21T05:00:00Z","last_time":"2026-11-21T05:00:07Z"}
  EOT

  expect {
    kind   = "node_condition"
    entity = { node = "node-a" }
    fields = { condition = "NodeNotReady" }
  }
}

test "generic_event" {
  transform = transform.k8s_event
  input     = <<-EOT
    {"api_version":"events.k8s.io/v1","uid":"u-1","namespace":"shop","name":"api-1.18a1","resource_version":"1234","reason":"Killing","type":"Normal","note":"Stopping container app","regarding":{"api_version":"v1","kind":"Pod","namespace":"shop","name":"api-1","uid":"r-1"},"reporting_controller":"kubelet","count":1,"first_time":"2026-11-21T05:00:00Z","last_time":"2026-11-21T05:00:07Z"}
  EOT

  expect {
    kind   = "k8s_event"
    entity = { namespace = "shop", object_kind = "Pod", object_name = "api-1" }
    fields = { reason = "Killing" }
  }
}

test "generic_skips_typed_kinds" {
  transform = transform.k8s_event
  inputs = [
    "{\"api_version\":\"events.k8s.io/v1\",\"uid\":\"u-1\",\"namespace\":\"shop\",\"name\":\"web.18a1\",\"resource_version\":\"1234\",\"reason\":\"ScalingReplicaSet\",\"type\":\"Normal\",\"note\":\"Scaled up replica set web-5d4f8b to 3\",\"regarding\":{\"api_version\":\"apps/v1\",\"kind\":\"Deployment\",\"namespace\":\"shop\",\"name\":\"web\",\"uid\":\"r-1\"},\"reporting_controller\":\"deployment-controller\",\"count\":1,\"first_time\":\"2026-11-21T05:00:00Z\",\"last_time\":\"2026-11-21T05:00:07Z\"}",
    "{\"api_version\":\"events.k8s.io/v1\",\"uid\":\"u-1\",\"namespace\":\"shop\",\"name\":\"api-1.18a1\",\"resource_version\":\"1234\",\"reason\":\"BackOff\",\"type\":\"Normal\",\"note\":\"Back-off restarting failed container app in pod api-1_shop(x)\",\"regarding\":{\"api_version\":\"v1\",\"kind\":\"Pod\",\"namespace\":\"shop\",\"name\":\"api-1\",\"uid\":\"r-1\"},\"reporting_controller\":\"kubelet\",\"count\":1,\"first_time\":\"2026-11-21T05:00:00Z\",\"last_time\":\"2026-11-21T05:00:07Z\"}",
    "{\"api_version\":\"events.k8s.io/v1\",\"uid\":\"u-1\",\"namespace\":\"shop\",\"name\":\"api-2.18a1\",\"resource_version\":\"1234\",\"reason\":\"FailedScheduling\",\"type\":\"Normal\",\"note\":\"0/3 nodes are available\",\"regarding\":{\"api_version\":\"v1\",\"kind\":\"Pod\",\"namespace\":\"shop\",\"name\":\"api-2\",\"uid\":\"r-1\"},\"reporting_controller\":\"kubelet\",\"count\":1,\"first_time\":\"2026-11-21T05:00:00Z\",\"last_time\":\"2026-11-21T05:00:07Z\"}",
  ]
  dropped = 3
}

test "not_json" {
  transform = transform.k8s_pod_crashloop
  input     = <<-EOT
    Back-off restarting failed container
  EOT

  expect_dead_letter {
    reason = "bad_json"
  }
}
