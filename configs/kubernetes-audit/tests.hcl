# Tests of the kubernetes-audit pack: audit events as the API server's log
# backend writes them (the source is named below), then malformed lines.
# Audit events in the audit.k8s.io/v1 Event format of the Kubernetes
# documentation ("Auditing", https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/,
# and the Event reference, https://kubernetes.io/docs/reference/config-api/apiserver-audit.v1/#audit-k8s-io-v1-Event),
# one per line as the log backend writes them: every stage, every level,
# resources and subresources, non-resource URLs, impersonation, and the
# response codes of allowed, forbidden, unauthenticated and failed requests.
test "kubernetes_audit_get_pod_metadata" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"1f2e3d4d-5b6b-4001-8001-9a8b7c6d5e50\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/api/v1/namespaces/default/pods/nginx-7c5ddbdf54-x8fbv\",\"verb\":\"get\",\"user\":{\"username\":\"alice\",\"groups\":[\"dev-team\",\"system:authenticated\"]},\"sourceIPs\":[\"203.0.113.9\"],\"userAgent\":\"kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46\",\"objectRef\":{\"resource\":\"pods\",\"namespace\":\"default\",\"name\":\"nginx-7c5ddbdf54-x8fbv\",\"apiVersion\":\"v1\"},\"responseStatus\":{\"metadata\":{},\"code\":200},\"requestReceivedTimestamp\":\"2026-11-21T05:41:35.123456Z\",\"stageTimestamp\":\"2026-11-21T05:41:35.127890Z\",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"RBAC: allowed by RoleBinding \\\"dev-edit/default\\\" of ClusterRole \\\"edit\\\" to Group \\\"dev-team\\\"\"}}"

  expect {
    kind = "k8s_audit"
    time = "2026-11-21T05:41:35.12789Z"
    fields = {
      api_version = "v1"
      audit_id = "1f2e3d4d-5b6b-4001-8001-9a8b7c6d5e50"
      authz_reason = "RBAC: allowed by RoleBinding \"dev-edit/default\" of ClusterRole \"edit\" to Group \"dev-team\""
      decision = "allow"
      groups = ["dev-team", "system:authenticated"]
      level = "Metadata"
      name = "nginx-7c5ddbdf54-x8fbv"
      namespace = "default"
      request_uri = "/api/v1/namespaces/default/pods/nginx-7c5ddbdf54-x8fbv"
      requested_at = "2026-11-21T05:41:35.123456Z"
      resource = "pods"
      response_code = 200
      source_ip = "203.0.113.9"
      source_ips = ["203.0.113.9"]
      stage = "ResponseComplete"
      time = "2026-11-21T05:41:35.12789Z"
      user = "alice"
      user_agent = "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46"
      verb = "get"
    }
  }
}

test "kubernetes_audit_list_pods" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"1f2e3d4e-5b6c-4002-8002-9a8b7c6d5e51\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/api/v1/namespaces/kube-system/pods?limit=500\",\"verb\":\"list\",\"user\":{\"username\":\"bob\",\"groups\":[\"system:authenticated\"]},\"sourceIPs\":[\"198.51.100.7\"],\"userAgent\":\"kubectl/v1.31.2 (darwin/arm64) kubernetes/5864a46\",\"objectRef\":{\"resource\":\"pods\",\"namespace\":\"kube-system\",\"apiVersion\":\"v1\"},\"responseStatus\":{\"metadata\":{},\"code\":200},\"requestReceivedTimestamp\":\"2026-11-21T05:42:00.000001Z\",\"stageTimestamp\":\"2026-11-21T05:42:00.010203Z\",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"\"}}"

  expect {
    kind = "k8s_audit"
    time = "2026-11-21T05:42:00.010203Z"
    fields = {
      api_version = "v1"
      audit_id = "1f2e3d4e-5b6c-4002-8002-9a8b7c6d5e51"
      decision = "allow"
      groups = ["system:authenticated"]
      level = "Metadata"
      namespace = "kube-system"
      request_uri = "/api/v1/namespaces/kube-system/pods?limit=500"
      requested_at = "2026-11-21T05:42:00.000001Z"
      resource = "pods"
      response_code = 200
      source_ip = "198.51.100.7"
      source_ips = ["198.51.100.7"]
      stage = "ResponseComplete"
      time = "2026-11-21T05:42:00.010203Z"
      user = "bob"
      user_agent = "kubectl/v1.31.2 (darwin/arm64) kubernetes/5864a46"
      verb = "list"
    }
  }
}

test "kubernetes_audit_create_deployment_request" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Request\",\"auditID\":\"1f2e3d4f-5b6d-4003-8003-9a8b7c6d5e52\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/apis/apps/v1/namespaces/shop/deployments?fieldManager=kubectl-client-side-apply&fieldValidation=Strict\",\"verb\":\"create\",\"user\":{\"username\":\"ci-bot\",\"groups\":[\"deployers\",\"system:authenticated\"]},\"sourceIPs\":[\"10.0.3.14\"],\"userAgent\":\"kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46\",\"objectRef\":{\"resource\":\"deployments\",\"namespace\":\"shop\",\"name\":\"checkout\",\"apiGroup\":\"apps\",\"apiVersion\":\"v1\"},\"responseStatus\":{\"metadata\":{},\"code\":201},\"requestReceivedTimestamp\":\"2026-11-21T05:43:10.500000Z\",\"stageTimestamp\":\"2026-11-21T05:43:10.560000Z\",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"\"},\"requestObject\":{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"checkout\",\"namespace\":\"shop\"}}}"

  expect {
    kind = "k8s_audit"
    time = "2026-11-21T05:43:10.56Z"
    fields = {
      api_group = "apps"
      api_version = "v1"
      audit_id = "1f2e3d4f-5b6d-4003-8003-9a8b7c6d5e52"
      decision = "allow"
      groups = ["deployers", "system:authenticated"]
      level = "Request"
      name = "checkout"
      namespace = "shop"
      request_uri = "/apis/apps/v1/namespaces/shop/deployments?fieldManager=kubectl-client-side-apply&fieldValidation=Strict"
      requested_at = "2026-11-21T05:43:10.5Z"
      resource = "deployments"
      response_code = 201
      source_ip = "10.0.3.14"
      source_ips = ["10.0.3.14"]
      stage = "ResponseComplete"
      time = "2026-11-21T05:43:10.56Z"
      user = "ci-bot"
      user_agent = "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46"
      verb = "create"
    }
  }
}

test "kubernetes_audit_delete_secret" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"1f2e3d50-5b6e-4004-8004-9a8b7c6d5e53\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/api/v1/namespaces/shop/secrets/db-password\",\"verb\":\"delete\",\"user\":{\"username\":\"alice\",\"groups\":[\"dev-team\",\"system:authenticated\"]},\"sourceIPs\":[\"203.0.113.9\"],\"userAgent\":\"kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46\",\"objectRef\":{\"resource\":\"secrets\",\"namespace\":\"shop\",\"name\":\"db-password\",\"apiVersion\":\"v1\"},\"responseStatus\":{\"metadata\":{},\"code\":200,\"status\":\"Success\"},\"requestReceivedTimestamp\":\"2026-11-21T05:44:00Z\",\"stageTimestamp\":\"2026-11-21T05:44:00.020000Z\",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"\"}}"

  expect {
    kind = "k8s_audit"
    time = "2026-11-21T05:44:00.02Z"
    fields = {
      api_version = "v1"
      audit_id = "1f2e3d50-5b6e-4004-8004-9a8b7c6d5e53"
      decision = "allow"
      groups = ["dev-team", "system:authenticated"]
      level = "Metadata"
      name = "db-password"
      namespace = "shop"
      request_uri = "/api/v1/namespaces/shop/secrets/db-password"
      requested_at = "2026-11-21T05:44:00Z"
      resource = "secrets"
      response_code = 200
      response_status = "Success"
      source_ip = "203.0.113.9"
      source_ips = ["203.0.113.9"]
      stage = "ResponseComplete"
      time = "2026-11-21T05:44:00.02Z"
      user = "alice"
      user_agent = "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46"
      verb = "delete"
    }
  }
}

test "kubernetes_audit_forbidden_secret_list" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"1f2e3d51-5b6f-4005-8005-9a8b7c6d5e54\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/api/v1/secrets\",\"verb\":\"list\",\"user\":{\"username\":\"system:anonymous\",\"groups\":[\"system:unauthenticated\"]},\"sourceIPs\":[\"192.0.2.66\"],\"userAgent\":\"curl/8.5.0\",\"objectRef\":{\"resource\":\"secrets\",\"apiVersion\":\"v1\"},\"responseStatus\":{\"metadata\":{},\"code\":403,\"status\":\"Failure\",\"reason\":\"Forbidden\"},\"requestReceivedTimestamp\":\"2026-11-21T05:45:00Z\",\"stageTimestamp\":\"2026-11-21T05:45:00.001000Z\",\"annotations\":{\"authorization.k8s.io/decision\":\"forbid\",\"authorization.k8s.io/reason\":\"\"}}"

  expect {
    kind = "k8s_audit"
    time = "2026-11-21T05:45:00.001Z"
    fields = {
      api_version = "v1"
      audit_id = "1f2e3d51-5b6f-4005-8005-9a8b7c6d5e54"
      decision = "forbid"
      groups = ["system:unauthenticated"]
      level = "Metadata"
      request_uri = "/api/v1/secrets"
      requested_at = "2026-11-21T05:45:00Z"
      resource = "secrets"
      response_code = 403
      response_reason = "Forbidden"
      response_status = "Failure"
      source_ip = "192.0.2.66"
      source_ips = ["192.0.2.66"]
      stage = "ResponseComplete"
      time = "2026-11-21T05:45:00.001Z"
      user = "system:anonymous"
      user_agent = "curl/8.5.0"
      verb = "list"
    }
  }
}

test "kubernetes_audit_exec_into_pod" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"1f2e3d52-5b70-4006-8006-9a8b7c6d5e55\",\"stage\":\"ResponseStarted\",\"requestURI\":\"/api/v1/namespaces/shop/pods/checkout-5d9c7b8f6-abcde/exec?command=sh&container=app&stdin=true&stdout=true&tty=true\",\"verb\":\"create\",\"user\":{\"username\":\"alice\",\"groups\":[\"dev-team\",\"system:authenticated\"]},\"sourceIPs\":[\"203.0.113.9\"],\"userAgent\":\"kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46\",\"objectRef\":{\"resource\":\"pods\",\"subresource\":\"exec\",\"namespace\":\"shop\",\"name\":\"checkout-5d9c7b8f6-abcde\",\"apiVersion\":\"v1\"},\"responseStatus\":{\"metadata\":{},\"code\":101},\"requestReceivedTimestamp\":\"2026-11-21T05:46:00Z\",\"stageTimestamp\":\"2026-11-21T05:46:00.250000Z\",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"\"}}"

  expect {
    kind = "k8s_audit"
    time = "2026-11-21T05:46:00.25Z"
    fields = {
      api_version = "v1"
      audit_id = "1f2e3d52-5b70-4006-8006-9a8b7c6d5e55"
      decision = "allow"
      groups = ["dev-team", "system:authenticated"]
      level = "Metadata"
      name = "checkout-5d9c7b8f6-abcde"
      namespace = "shop"
      request_uri = "/api/v1/namespaces/shop/pods/checkout-5d9c7b8f6-abcde/exec?command=sh&container=app&stdin=true&stdout=true&tty=true"
      requested_at = "2026-11-21T05:46:00Z"
      resource = "pods"
      response_code = 101
      source_ip = "203.0.113.9"
      source_ips = ["203.0.113.9"]
      stage = "ResponseStarted"
      subresource = "exec"
      time = "2026-11-21T05:46:00.25Z"
      user = "alice"
      user_agent = "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46"
      verb = "create"
    }
  }
}

test "kubernetes_audit_watch_configmaps_sa" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"1f2e3d53-5b71-4007-8007-9a8b7c6d5e56\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/api/v1/namespaces/monitoring/configmaps?allowWatchBookmarks=true&resourceVersion=123456&watch=true\",\"verb\":\"watch\",\"user\":{\"username\":\"system:serviceaccount:monitoring:prometheus\",\"groups\":[\"system:serviceaccounts\",\"system:serviceaccounts:monitoring\",\"system:authenticated\"]},\"sourceIPs\":[\"10.244.1.23\"],\"userAgent\":\"prometheus/v2.54.1\",\"objectRef\":{\"resource\":\"configmaps\",\"namespace\":\"monitoring\",\"apiVersion\":\"v1\"},\"responseStatus\":{\"metadata\":{},\"code\":200},\"requestReceivedTimestamp\":\"2026-11-21T05:40:00Z\",\"stageTimestamp\":\"2026-11-21T05:47:00Z\",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"\"}}"

  expect {
    kind = "k8s_audit"
    time = "2026-11-21T05:47:00Z"
    fields = {
      api_version = "v1"
      audit_id = "1f2e3d53-5b71-4007-8007-9a8b7c6d5e56"
      decision = "allow"
      groups = ["system:serviceaccounts", "system:serviceaccounts:monitoring", "system:authenticated"]
      level = "Metadata"
      namespace = "monitoring"
      request_uri = "/api/v1/namespaces/monitoring/configmaps?allowWatchBookmarks=true&resourceVersion=123456&watch=true"
      requested_at = "2026-11-21T05:40:00Z"
      resource = "configmaps"
      response_code = 200
      source_ip = "10.244.1.23"
      source_ips = ["10.244.1.23"]
      stage = "ResponseComplete"
      time = "2026-11-21T05:47:00Z"
      user = "system:serviceaccount:monitoring:prometheus"
      user_agent = "prometheus/v2.54.1"
      verb = "watch"
    }
  }
}

test "kubernetes_audit_patch_node_status_kubelet" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"1f2e3d54-5b72-4008-8008-9a8b7c6d5e57\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/api/v1/nodes/worker-1/status?timeout=10s\",\"verb\":\"patch\",\"user\":{\"username\":\"system:node:worker-1\",\"groups\":[\"system:nodes\",\"system:authenticated\"]},\"sourceIPs\":[\"10.0.1.21\"],\"userAgent\":\"kubelet/v1.31.2 (linux/amd64) kubernetes/5864a46\",\"objectRef\":{\"resource\":\"nodes\",\"subresource\":\"status\",\"name\":\"worker-1\",\"apiVersion\":\"v1\"},\"responseStatus\":{\"metadata\":{},\"code\":200},\"requestReceivedTimestamp\":\"2026-11-21T05:48:00Z\",\"stageTimestamp\":\"2026-11-21T05:48:00.008000Z\",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"\"}}"

  expect {
    kind = "k8s_audit"
    time = "2026-11-21T05:48:00.008Z"
    fields = {
      api_version = "v1"
      audit_id = "1f2e3d54-5b72-4008-8008-9a8b7c6d5e57"
      decision = "allow"
      groups = ["system:nodes", "system:authenticated"]
      level = "Metadata"
      name = "worker-1"
      request_uri = "/api/v1/nodes/worker-1/status?timeout=10s"
      requested_at = "2026-11-21T05:48:00Z"
      resource = "nodes"
      response_code = 200
      source_ip = "10.0.1.21"
      source_ips = ["10.0.1.21"]
      stage = "ResponseComplete"
      subresource = "status"
      time = "2026-11-21T05:48:00.008Z"
      user = "system:node:worker-1"
      user_agent = "kubelet/v1.31.2 (linux/amd64) kubernetes/5864a46"
      verb = "patch"
    }
  }
}

test "kubernetes_audit_update_lease_controller" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"1f2e3d55-5b73-4009-8009-9a8b7c6d5e58\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager?timeout=5s\",\"verb\":\"update\",\"user\":{\"username\":\"system:kube-controller-manager\",\"groups\":[\"system:authenticated\"]},\"sourceIPs\":[\"10.0.0.10\"],\"userAgent\":\"kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/5864a46/leader-election\",\"objectRef\":{\"resource\":\"leases\",\"namespace\":\"kube-system\",\"name\":\"kube-controller-manager\",\"apiGroup\":\"coordination.k8s.io\",\"apiVersion\":\"v1\"},\"responseStatus\":{\"metadata\":{},\"code\":200},\"requestReceivedTimestamp\":\"2026-11-21T05:49:00Z\",\"stageTimestamp\":\"2026-11-21T05:49:00.003000Z\",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"\"}}"

  expect {
    kind = "k8s_audit"
    time = "2026-11-21T05:49:00.003Z"
    fields = {
      api_group = "coordination.k8s.io"
      api_version = "v1"
      audit_id = "1f2e3d55-5b73-4009-8009-9a8b7c6d5e58"
      decision = "allow"
      groups = ["system:authenticated"]
      level = "Metadata"
      name = "kube-controller-manager"
      namespace = "kube-system"
      request_uri = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager?timeout=5s"
      requested_at = "2026-11-21T05:49:00Z"
      resource = "leases"
      response_code = 200
      source_ip = "10.0.0.10"
      source_ips = ["10.0.0.10"]
      stage = "ResponseComplete"
      time = "2026-11-21T05:49:00.003Z"
      user = "system:kube-controller-manager"
      user_agent = "kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/5864a46/leader-election"
      verb = "update"
    }
  }
}

test "kubernetes_audit_request_received_stage" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"1f2e3d56-5b74-400a-800a-9a8b7c6d5e59\",\"stage\":\"RequestReceived\",\"requestURI\":\"/api/v1/namespaces/default/configmaps/app-config\",\"verb\":\"get\",\"user\":{\"username\":\"alice\",\"groups\":[\"dev-team\",\"system:authenticated\"]},\"sourceIPs\":[\"203.0.113.9\"],\"userAgent\":\"kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46\",\"objectRef\":{\"resource\":\"configmaps\",\"namespace\":\"default\",\"name\":\"app-config\",\"apiVersion\":\"v1\"},\"requestReceivedTimestamp\":\"2026-11-21T05:50:00Z\",\"stageTimestamp\":\"2026-11-21T05:50:00Z\",\"annotations\":{}}"

  expect {
    kind = "k8s_audit"
    time = "2026-11-21T05:50:00Z"
    fields = {
      api_version = "v1"
      audit_id = "1f2e3d56-5b74-400a-800a-9a8b7c6d5e59"
      groups = ["dev-team", "system:authenticated"]
      level = "Metadata"
      name = "app-config"
      namespace = "default"
      request_uri = "/api/v1/namespaces/default/configmaps/app-config"
      requested_at = "2026-11-21T05:50:00Z"
      resource = "configmaps"
      source_ip = "203.0.113.9"
      source_ips = ["203.0.113.9"]
      stage = "RequestReceived"
      time = "2026-11-21T05:50:00Z"
      user = "alice"
      user_agent = "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46"
      verb = "get"
    }
  }
}

test "kubernetes_audit_nonresource_healthz" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"1f2e3d57-5b75-400b-800b-9a8b7c6d5e5a\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/healthz\",\"verb\":\"get\",\"user\":{\"username\":\"system:anonymous\",\"groups\":[\"system:unauthenticated\"]},\"sourceIPs\":[\"10.0.0.1\"],\"userAgent\":\"kube-probe/1.31\",\"responseStatus\":{\"metadata\":{},\"code\":200},\"requestReceivedTimestamp\":\"2026-11-21T05:51:00Z\",\"stageTimestamp\":\"2026-11-21T05:51:00.000500Z\",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"\"}}"

  expect {
    kind = "k8s_audit"
    time = "2026-11-21T05:51:00.0005Z"
    fields = {
      audit_id = "1f2e3d57-5b75-400b-800b-9a8b7c6d5e5a"
      decision = "allow"
      groups = ["system:unauthenticated"]
      level = "Metadata"
      request_uri = "/healthz"
      requested_at = "2026-11-21T05:51:00Z"
      response_code = 200
      source_ip = "10.0.0.1"
      source_ips = ["10.0.0.1"]
      stage = "ResponseComplete"
      time = "2026-11-21T05:51:00.0005Z"
      user = "system:anonymous"
      user_agent = "kube-probe/1.31"
      verb = "get"
    }
  }
}

test "kubernetes_audit_impersonation" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"1f2e3d58-5b76-400c-800c-9a8b7c6d5e5b\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/api/v1/namespaces/shop/pods\",\"verb\":\"get\",\"user\":{\"username\":\"admin\",\"groups\":[\"system:masters\",\"system:authenticated\"]},\"sourceIPs\":[\"203.0.113.10\"],\"userAgent\":\"kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46\",\"objectRef\":{\"resource\":\"pods\",\"namespace\":\"shop\",\"apiVersion\":\"v1\"},\"responseStatus\":{\"metadata\":{},\"code\":200},\"requestReceivedTimestamp\":\"2026-11-21T05:52:00Z\",\"stageTimestamp\":\"2026-11-21T05:52:00.004000Z\",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"\"},\"impersonatedUser\":{\"username\":\"carol\",\"groups\":[\"shop-viewers\",\"system:authenticated\"]}}"

  expect {
    kind = "k8s_audit"
    time = "2026-11-21T05:52:00.004Z"
    fields = {
      api_version = "v1"
      audit_id = "1f2e3d58-5b76-400c-800c-9a8b7c6d5e5b"
      decision = "allow"
      groups = ["system:masters", "system:authenticated"]
      impersonated_user = "carol"
      level = "Metadata"
      namespace = "shop"
      request_uri = "/api/v1/namespaces/shop/pods"
      requested_at = "2026-11-21T05:52:00Z"
      resource = "pods"
      response_code = 200
      source_ip = "203.0.113.10"
      source_ips = ["203.0.113.10"]
      stage = "ResponseComplete"
      time = "2026-11-21T05:52:00.004Z"
      user = "admin"
      user_agent = "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46"
      verb = "get"
    }
  }
}

test "kubernetes_audit_create_clusterrolebinding" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"RequestResponse\",\"auditID\":\"1f2e3d59-5b77-400d-800d-9a8b7c6d5e5c\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings\",\"verb\":\"create\",\"user\":{\"username\":\"admin\",\"groups\":[\"system:masters\",\"system:authenticated\"]},\"sourceIPs\":[\"203.0.113.10\"],\"userAgent\":\"kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46\",\"objectRef\":{\"resource\":\"clusterrolebindings\",\"name\":\"ops-admin\",\"apiGroup\":\"rbac.authorization.k8s.io\",\"apiVersion\":\"v1\"},\"responseStatus\":{\"metadata\":{},\"code\":201},\"requestReceivedTimestamp\":\"2026-11-21T05:53:00Z\",\"stageTimestamp\":\"2026-11-21T05:53:00.030000Z\",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"\"}}"

  expect {
    kind = "k8s_audit"
    time = "2026-11-21T05:53:00.03Z"
    fields = {
      api_group = "rbac.authorization.k8s.io"
      api_version = "v1"
      audit_id = "1f2e3d59-5b77-400d-800d-9a8b7c6d5e5c"
      decision = "allow"
      groups = ["system:masters", "system:authenticated"]
      level = "RequestResponse"
      name = "ops-admin"
      request_uri = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
      requested_at = "2026-11-21T05:53:00Z"
      resource = "clusterrolebindings"
      response_code = 201
      source_ip = "203.0.113.10"
      source_ips = ["203.0.113.10"]
      stage = "ResponseComplete"
      time = "2026-11-21T05:53:00.03Z"
      user = "admin"
      user_agent = "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46"
      verb = "create"
    }
  }
}

test "kubernetes_audit_conflict_update" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"1f2e3d5a-5b78-400e-800e-9a8b7c6d5e5d\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/apis/apps/v1/namespaces/shop/deployments/checkout\",\"verb\":\"update\",\"user\":{\"username\":\"ci-bot\",\"groups\":[\"deployers\",\"system:authenticated\"]},\"sourceIPs\":[\"10.0.3.14\"],\"userAgent\":\"argocd-application-controller/v2.13.0\",\"objectRef\":{\"resource\":\"deployments\",\"namespace\":\"shop\",\"name\":\"checkout\",\"apiGroup\":\"apps\",\"apiVersion\":\"v1\"},\"responseStatus\":{\"metadata\":{},\"code\":409,\"status\":\"Failure\",\"reason\":\"Conflict\",\"message\":\"Operation cannot be fulfilled on deployments.apps \\\"checkout\\\": the object has been modified; please apply your changes to the latest version and try again\"},\"requestReceivedTimestamp\":\"2026-11-21T05:54:00Z\",\"stageTimestamp\":\"2026-11-21T05:54:00.012000Z\",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"\"}}"

  expect {
    kind = "k8s_audit"
    time = "2026-11-21T05:54:00.012Z"
    fields = {
      api_group = "apps"
      api_version = "v1"
      audit_id = "1f2e3d5a-5b78-400e-800e-9a8b7c6d5e5d"
      decision = "allow"
      groups = ["deployers", "system:authenticated"]
      level = "Metadata"
      name = "checkout"
      namespace = "shop"
      request_uri = "/apis/apps/v1/namespaces/shop/deployments/checkout"
      requested_at = "2026-11-21T05:54:00Z"
      resource = "deployments"
      response_code = 409
      response_reason = "Conflict"
      response_status = "Failure"
      source_ip = "10.0.3.14"
      source_ips = ["10.0.3.14"]
      stage = "ResponseComplete"
      time = "2026-11-21T05:54:00.012Z"
      user = "ci-bot"
      user_agent = "argocd-application-controller/v2.13.0"
      verb = "update"
    }
  }
}

test "kubernetes_audit_scale_subresource" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"1f2e3d5b-5b79-400f-800f-9a8b7c6d5e5e\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/apis/apps/v1/namespaces/shop/deployments/checkout/scale\",\"verb\":\"patch\",\"user\":{\"username\":\"system:serviceaccount:kube-system:horizontal-pod-autoscaler\",\"groups\":[\"system:serviceaccounts\",\"system:serviceaccounts:kube-system\",\"system:authenticated\"]},\"sourceIPs\":[\"10.0.0.10\"],\"userAgent\":\"kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/5864a46/system:serviceaccount:kube-system:horizontal-pod-autoscaler\",\"objectRef\":{\"resource\":\"deployments\",\"subresource\":\"scale\",\"namespace\":\"shop\",\"name\":\"checkout\",\"apiGroup\":\"apps\",\"apiVersion\":\"v1\"},\"responseStatus\":{\"metadata\":{},\"code\":200},\"requestReceivedTimestamp\":\"2026-11-21T05:55:00Z\",\"stageTimestamp\":\"2026-11-21T05:55:00.009000Z\",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"\"}}"

  expect {
    kind = "k8s_audit"
    time = "2026-11-21T05:55:00.009Z"
    fields = {
      api_group = "apps"
      api_version = "v1"
      audit_id = "1f2e3d5b-5b79-400f-800f-9a8b7c6d5e5e"
      decision = "allow"
      groups = ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"]
      level = "Metadata"
      name = "checkout"
      namespace = "shop"
      request_uri = "/apis/apps/v1/namespaces/shop/deployments/checkout/scale"
      requested_at = "2026-11-21T05:55:00Z"
      resource = "deployments"
      response_code = 200
      source_ip = "10.0.0.10"
      source_ips = ["10.0.0.10"]
      stage = "ResponseComplete"
      subresource = "scale"
      time = "2026-11-21T05:55:00.009Z"
      user = "system:serviceaccount:kube-system:horizontal-pod-autoscaler"
      user_agent = "kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/5864a46/system:serviceaccount:kube-system:horizontal-pod-autoscaler"
      verb = "patch"
    }
  }
}

test "kubernetes_audit_ipv6_client" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"1f2e3d5c-5b7a-4010-8010-9a8b7c6d5e5f\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/api/v1/namespaces\",\"verb\":\"get\",\"user\":{\"username\":\"dave\",\"groups\":[\"system:authenticated\"]},\"sourceIPs\":[\"2001:db8::42\",\"10.0.0.5\"],\"userAgent\":\"k9s/v0.32.5\",\"objectRef\":{\"resource\":\"namespaces\",\"apiVersion\":\"v1\"},\"responseStatus\":{\"metadata\":{},\"code\":200},\"requestReceivedTimestamp\":\"2026-11-21T05:56:00Z\",\"stageTimestamp\":\"2026-11-21T05:56:00.002000Z\",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"\"}}"

  expect {
    kind = "k8s_audit"
    time = "2026-11-21T05:56:00.002Z"
    fields = {
      api_version = "v1"
      audit_id = "1f2e3d5c-5b7a-4010-8010-9a8b7c6d5e5f"
      decision = "allow"
      groups = ["system:authenticated"]
      level = "Metadata"
      request_uri = "/api/v1/namespaces"
      requested_at = "2026-11-21T05:56:00Z"
      resource = "namespaces"
      response_code = 200
      source_ip = "2001:db8::42"
      source_ips = ["2001:db8::42", "10.0.0.5"]
      stage = "ResponseComplete"
      time = "2026-11-21T05:56:00.002Z"
      user = "dave"
      user_agent = "k9s/v0.32.5"
      verb = "get"
    }
  }
}

test "kubernetes_audit_deletecollection_events" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"1f2e3d5d-5b7b-4011-8011-9a8b7c6d5e60\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/api/v1/namespaces/shop/events\",\"verb\":\"deletecollection\",\"user\":{\"username\":\"system:serviceaccount:kube-system:namespace-controller\",\"groups\":[\"system:serviceaccounts\",\"system:serviceaccounts:kube-system\",\"system:authenticated\"]},\"sourceIPs\":[\"10.0.0.10\"],\"userAgent\":\"kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/5864a46/system:serviceaccount:kube-system:namespace-controller\",\"objectRef\":{\"resource\":\"events\",\"namespace\":\"shop\",\"apiVersion\":\"v1\"},\"responseStatus\":{\"metadata\":{},\"code\":200},\"requestReceivedTimestamp\":\"2026-11-21T05:57:00Z\",\"stageTimestamp\":\"2026-11-21T05:57:00.050000Z\",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"\"}}"

  expect {
    kind = "k8s_audit"
    time = "2026-11-21T05:57:00.05Z"
    fields = {
      api_version = "v1"
      audit_id = "1f2e3d5d-5b7b-4011-8011-9a8b7c6d5e60"
      decision = "allow"
      groups = ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"]
      level = "Metadata"
      namespace = "shop"
      request_uri = "/api/v1/namespaces/shop/events"
      requested_at = "2026-11-21T05:57:00Z"
      resource = "events"
      response_code = 200
      source_ip = "10.0.0.10"
      source_ips = ["10.0.0.10"]
      stage = "ResponseComplete"
      time = "2026-11-21T05:57:00.05Z"
      user = "system:serviceaccount:kube-system:namespace-controller"
      user_agent = "kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/5864a46/system:serviceaccount:kube-system:namespace-controller"
      verb = "deletecollection"
    }
  }
}

test "kubernetes_audit_token_request" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"1f2e3d5e-5b7c-4012-8012-9a8b7c6d5e61\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/api/v1/namespaces/shop/serviceaccounts/checkout/token\",\"verb\":\"create\",\"user\":{\"username\":\"system:node:worker-1\",\"groups\":[\"system:nodes\",\"system:authenticated\"]},\"sourceIPs\":[\"10.0.1.21\"],\"userAgent\":\"kubelet/v1.31.2 (linux/amd64) kubernetes/5864a46\",\"objectRef\":{\"resource\":\"serviceaccounts\",\"subresource\":\"token\",\"namespace\":\"shop\",\"name\":\"checkout\",\"apiVersion\":\"v1\"},\"responseStatus\":{\"metadata\":{},\"code\":201},\"requestReceivedTimestamp\":\"2026-11-21T05:58:00Z\",\"stageTimestamp\":\"2026-11-21T05:58:00.004000Z\",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"\"}}"

  expect {
    kind = "k8s_audit"
    time = "2026-11-21T05:58:00.004Z"
    fields = {
      api_version = "v1"
      audit_id = "1f2e3d5e-5b7c-4012-8012-9a8b7c6d5e61"
      decision = "allow"
      groups = ["system:nodes", "system:authenticated"]
      level = "Metadata"
      name = "checkout"
      namespace = "shop"
      request_uri = "/api/v1/namespaces/shop/serviceaccounts/checkout/token"
      requested_at = "2026-11-21T05:58:00Z"
      resource = "serviceaccounts"
      response_code = 201
      source_ip = "10.0.1.21"
      source_ips = ["10.0.1.21"]
      stage = "ResponseComplete"
      subresource = "token"
      time = "2026-11-21T05:58:00.004Z"
      user = "system:node:worker-1"
      user_agent = "kubelet/v1.31.2 (linux/amd64) kubernetes/5864a46"
      verb = "create"
    }
  }
}

test "kubernetes_audit_panic_stage" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"1f2e3d5f-5b7d-4013-8013-9a8b7c6d5e62\",\"stage\":\"Panic\",\"requestURI\":\"/api/v1/namespaces/default/pods/broken\",\"verb\":\"get\",\"user\":{\"username\":\"alice\",\"groups\":[\"dev-team\",\"system:authenticated\"]},\"sourceIPs\":[\"203.0.113.9\"],\"userAgent\":\"kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46\",\"objectRef\":{\"resource\":\"pods\",\"namespace\":\"default\",\"name\":\"broken\",\"apiVersion\":\"v1\"},\"responseStatus\":{\"metadata\":{},\"code\":500,\"status\":\"Failure\",\"reason\":\"InternalError\"},\"requestReceivedTimestamp\":\"2026-11-21T05:59:00Z\",\"stageTimestamp\":\"2026-11-21T05:59:00.100000Z\",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"\"}}"

  expect {
    kind = "k8s_audit"
    time = "2026-11-21T05:59:00.1Z"
    fields = {
      api_version = "v1"
      audit_id = "1f2e3d5f-5b7d-4013-8013-9a8b7c6d5e62"
      decision = "allow"
      groups = ["dev-team", "system:authenticated"]
      level = "Metadata"
      name = "broken"
      namespace = "default"
      request_uri = "/api/v1/namespaces/default/pods/broken"
      requested_at = "2026-11-21T05:59:00Z"
      resource = "pods"
      response_code = 500
      response_reason = "InternalError"
      response_status = "Failure"
      source_ip = "203.0.113.9"
      source_ips = ["203.0.113.9"]
      stage = "Panic"
      time = "2026-11-21T05:59:00.1Z"
      user = "alice"
      user_agent = "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46"
      verb = "get"
    }
  }
}

test "kubernetes_audit_unauthorized_401" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"1f2e3d60-5b7e-4014-8014-9a8b7c6d5e63\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/api/v1/namespaces/default/pods\",\"verb\":\"get\",\"user\":{},\"sourceIPs\":[\"192.0.2.99\"],\"userAgent\":\"python-requests/2.32.3\",\"objectRef\":{\"resource\":\"pods\",\"namespace\":\"default\",\"apiVersion\":\"v1\"},\"responseStatus\":{\"metadata\":{},\"code\":401,\"status\":\"Failure\",\"reason\":\"Unauthorized\"},\"requestReceivedTimestamp\":\"2026-11-21T06:00:00Z\",\"stageTimestamp\":\"2026-11-21T06:00:00.000300Z\",\"annotations\":{}}"

  expect {
    kind = "k8s_audit"
    time = "2026-11-21T06:00:00.0003Z"
    fields = {
      api_version = "v1"
      audit_id = "1f2e3d60-5b7e-4014-8014-9a8b7c6d5e63"
      groups = []
      level = "Metadata"
      namespace = "default"
      request_uri = "/api/v1/namespaces/default/pods"
      requested_at = "2026-11-21T06:00:00Z"
      resource = "pods"
      response_code = 401
      response_reason = "Unauthorized"
      response_status = "Failure"
      source_ip = "192.0.2.99"
      source_ips = ["192.0.2.99"]
      stage = "ResponseComplete"
      time = "2026-11-21T06:00:00.0003Z"
      user_agent = "python-requests/2.32.3"
      verb = "get"
    }
  }
}

test "kubernetes_audit_crd_custom_resource" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"1f2e3d61-5b7f-4015-8015-9a8b7c6d5e64\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/apis/cert-manager.io/v1/namespaces/shop/certificates\",\"verb\":\"create\",\"user\":{\"username\":\"ci-bot\",\"groups\":[\"deployers\",\"system:authenticated\"]},\"sourceIPs\":[\"10.0.3.14\"],\"userAgent\":\"helm/v3.16.2\",\"objectRef\":{\"resource\":\"certificates\",\"namespace\":\"shop\",\"name\":\"checkout-tls\",\"apiGroup\":\"cert-manager.io\",\"apiVersion\":\"v1\"},\"responseStatus\":{\"metadata\":{},\"code\":201},\"requestReceivedTimestamp\":\"2026-11-21T06:01:00Z\",\"stageTimestamp\":\"2026-11-21T06:01:00.015000Z\",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\",\"authorization.k8s.io/reason\":\"\"}}"

  expect {
    kind = "k8s_audit"
    time = "2026-11-21T06:01:00.015Z"
    fields = {
      api_group = "cert-manager.io"
      api_version = "v1"
      audit_id = "1f2e3d61-5b7f-4015-8015-9a8b7c6d5e64"
      decision = "allow"
      groups = ["deployers", "system:authenticated"]
      level = "Metadata"
      name = "checkout-tls"
      namespace = "shop"
      request_uri = "/apis/cert-manager.io/v1/namespaces/shop/certificates"
      requested_at = "2026-11-21T06:01:00Z"
      resource = "certificates"
      response_code = 201
      source_ip = "10.0.3.14"
      source_ips = ["10.0.3.14"]
      stage = "ResponseComplete"
      time = "2026-11-21T06:01:00.015Z"
      user = "ci-bot"
      user_agent = "helm/v3.16.2"
      verb = "create"
    }
  }
}

# Malformed lines: not JSON, JSON that is not an audit event, an event
# without its stage, a truncated line, an unknown stage.
test "kubernetes_audit_not_json" {
  transform = transform.kubernetes_audit
  input     = "E1121 05:41:35.123456 1 audit.go:42] not an audit event"

  expect_dead_letter {
    reason = "jq"
    step   = "jq"
    error  = "fromjson cannot be applied to \"E1121 05:41:35.123456 1  ...\""
  }
}

test "kubernetes_audit_not_an_event" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\"}"

  expect_dead_letter {
    reason = "timestamp"
    step   = "timestamp"
    error  = "required by timestamp, missing"
  }
}

test "kubernetes_audit_missing_stage" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"0b1c2d3e-0000-4000-8000-000000000001\",\"requestURI\":\"/api\",\"verb\":\"get\",\"user\":{\"username\":\"alice\"},\"stageTimestamp\":\"2026-11-21T06:02:00Z\"}"

  expect_dead_letter {
    reason = "schema"
    step   = "schema"
    error  = "required, missing"
  }
}

test "kubernetes_audit_truncated" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"0b1c2d3e"

  expect_dead_letter {
    reason = "jq"
    step   = "jq"
    error  = "fromjson cannot be applied to \"{\\\"kind\\\":\\\"Event\\\",\\\"ap ...\""
  }
}

test "kubernetes_audit_bad_stage" {
  transform = transform.kubernetes_audit
  input     = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"0b1c2d3e-0000-4000-8000-000000000002\",\"stage\":\"Done\",\"requestURI\":\"/api\",\"verb\":\"get\",\"user\":{\"username\":\"alice\"},\"stageTimestamp\":\"2026-11-21T06:02:00Z\"}"

  expect_dead_letter {
    reason = "schema"
    step   = "schema"
    error  = "expects one of RequestReceived, ResponseStarted, ResponseCom"
  }
}

