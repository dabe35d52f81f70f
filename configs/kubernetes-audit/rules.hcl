# Kubernetes API server audit events (JSON lines of the log backend) become
# k8s_audit records: user, verb, resource, namespace, response code, and
# the rest security teams ask about. The record's time is the event's
# stageTimestamp.
#
#   octoagent run -c configs/kubernetes-audit -c my-sinks.hcl
transform "kubernetes_audit" {
  inputs = [source.file.kubernetes_audit]
  schema = schema.k8s_audit

  # The event is read by jq itself (fromjson): its keys (user, an object)
  # are not the record's (user, the user name). One flat record an event;
  # absent values are left out.
  jq = <<-EOT
    .message | fromjson | {
      audit_id: .auditID, stage: .stage, level: .level, verb: .verb,
      user: .user.username, groups: .user.groups,
      impersonated_user: .impersonatedUser.username,
      source_ip: (.sourceIPs // [])[0], source_ips: .sourceIPs, user_agent: .userAgent,
      request_uri: .requestURI,
      resource: .objectRef.resource, subresource: .objectRef.subresource,
      namespace: .objectRef.namespace, name: .objectRef.name,
      api_group: .objectRef.apiGroup, api_version: .objectRef.apiVersion,
      response_code: .responseStatus.code, response_status: .responseStatus.status,
      response_reason: .responseStatus.reason,
      decision: .annotations["authorization.k8s.io/decision"],
      authz_reason: (.annotations["authorization.k8s.io/reason"] | if . == "" then null else . end),
      requested_at: .requestReceivedTimestamp, time: .stageTimestamp
    } | del(.[] | nulls)
  EOT

  timestamp {
    field  = "time"
    layout = "rfc3339"
  }
}
