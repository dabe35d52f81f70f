# k8s_audit: one Kubernetes API server audit event (audit.k8s.io/v1
# Event), reduced to what security teams ask: who did what to which
# resource, from where, and what the server answered.
schema "k8s_audit" {
  version        = "1"
  unknown_fields = "reject"

  field "audit_id" {
    type     = "string"
    required = true
  }
  field "stage" {
    type     = "enum"
    values   = ["RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"]
    required = true
  }
  field "level" {
    type   = "enum"
    values = ["None", "Metadata", "Request", "RequestResponse"]
  }
  field "verb" {
    type     = "string"
    required = true
  }
  field "user" {
    type = "string"
  }
  field "groups" {
    type    = "list"
    items   = "string"
    default = []
  }
  field "impersonated_user" {
    type = "string"
  }
  field "source_ip" {
    type = "ip"
  }
  field "source_ips" {
    type    = "list"
    items   = "string"
    default = []
  }
  field "user_agent" {
    type = "string"
  }
  field "request_uri" {
    type     = "string"
    required = true
  }
  field "resource" {
    type = "string"
  }
  field "subresource" {
    type = "string"
  }
  field "namespace" {
    type = "string"
  }
  field "name" {
    type = "string"
  }
  field "api_group" {
    type = "string"
  }
  field "api_version" {
    type = "string"
  }
  field "response_code" {
    type = "int"
    min  = 100
    max  = 599
  }
  field "response_status" {
    type = "string"
  }
  field "response_reason" {
    type = "string"
  }
  field "decision" {
    type   = "enum"
    values = ["allow", "forbid"]
  }
  field "authz_reason" {
    type = "string"
  }
  field "requested_at" {
    type = "time"
  }
  field "time" {
    type     = "time"
    required = true
  }
}
