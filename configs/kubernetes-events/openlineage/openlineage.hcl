# OpenLineage RunEvents from the deployment_rollout records of
# rules.hcl (sinks/openlineage/README.md has the mapping reference):
#
#   OPENLINEAGE_URL=http://marquez:5000 \
#     octoagent run -c configs/kubernetes-events -c configs/kubernetes-events/openlineage
#
# OPENLINEAGE_URL is the API's base URL (events go to /api/v1/lineage),
# OPENLINEAGE_API_KEY an optional bearer token. This folder is apart from
# the pack so that loading the pack alone adds no sink.
#
# The job is NAMESPACE/DEPLOYMENT, in the job namespace
# kubernetes://CLUSTER (K8S_CLUSTER_NAME, as the source's cluster). A run
# is one revision of the Deployment, its ReplicaSet (whose name carries the
# pod template's hash), from its first pods to its last:
#
#   scaled up from 0 (or "Scaled up ... to N", without "from")  START
#   scaled up or down otherwise                                 RUNNING
#   scaled down to 0 (the next revision replaced it)            COMPLETE
#   a Warning event                                             FAIL
#
# The images of the Deployment's pod template (enrich_owners = true in
# source.hcl) are the output datasets of the scale-ups: "which image was
# deployed where" is the version facet of oci://REGISTRY/REPOSITORY. The
# owner cache (owner_cache_ttl) can hold a template read before an image
# change for up to its TTL; see the README's limits.
sink "openlineage" "k8s" {
  inputs = [transform.k8s_deployment_rollout]

  transport "http" {
    url   = env("OPENLINEAGE_URL")
    token = env("OPENLINEAGE_API_KEY", "")
  }

  mapping "deployment_rollout" {
    event_type    = "$env['type'] == 'Warning' ? 'FAIL' : direction == 'up' && (from_replicas ?? '0') == '0' ? 'START' : direction == 'down' && replicas == '0' ? 'COMPLETE' : direction != nil ? 'RUNNING' : 'OTHER'"
    job_namespace = "'kubernetes://${env("K8S_CLUSTER_NAME", "kubernetes")}'"
    job_name      = "namespace + '/' + deployment"
    run_key       = "replicaset"

    error_message {
      message = "$env['type'] == 'Warning' ? note : nil"
    }
    job_type {
      processing_type = "'BATCH'"
      integration     = "'KUBERNETES'"
      job_type        = "'ROLLOUT'"
    }
    output "images" {
      for_each = "direction == 'up' ? images : nil"
      dataset  = "image_dataset(each)"
    }
  }
}
