{{- define "octoagent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "octoagent.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "octoagent.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "octoagent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "octoagent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "octoagent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "octoagent.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "octoagent.secretName" -}}
{{- if .Values.octostore.existingSecret }}{{ .Values.octostore.existingSecret }}{{ else }}{{ include "octoagent.fullname" . }}-token{{ end }}
{{- end }}

{{- define "octoagent.secretKey" -}}
{{- if .Values.octostore.existingSecret }}{{ .Values.octostore.existingSecretKey }}{{ else }}token{{ end }}
{{- end }}

{{- define "octoagent.useSecret" -}}
{{- if and .Values.octostore.endpoint (or .Values.octostore.token .Values.octostore.existingSecret) }}true{{ end }}
{{- end }}

{{/* Pod securityContext; arg: dict "runAsUser" UID "runAsGroup" GID
"supplementalGroups" LIST. A non-root pod gets fsGroup = its gid, so that it
can read the files of its Secret volume (mode 0440); uid 0 reads them as
their owner. (0 is a real value here: no `default`, which would replace it.) */}}
{{- define "octoagent.podSecurityContext" -}}
{{- $root := eq (int .runAsUser) 0 -}}
runAsNonRoot: {{ not $root }}
runAsUser: {{ int .runAsUser }}
runAsGroup: {{ int .runAsGroup }}
{{- if not $root }}
fsGroup: {{ int .runAsGroup }}
{{- end }}
{{- with .supplementalGroups }}
supplementalGroups: {{ toJson . }}
{{- end }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container securityContext: every capability dropped but those in
"add", no privilege escalation (no_new_privs), a read-only root filesystem;
arg: dict "runAsUser" UID "add" LIST "seLinuxOptions" MAP. */}}
{{- define "octoagent.containerSecurityContext" -}}
runAsNonRoot: {{ ne (int .runAsUser) 0 }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: [ALL]
  {{- with .add }}
  add: {{ toJson . }}
  {{- end }}
seccompProfile:
  type: RuntimeDefault
{{- with .seLinuxOptions }}
seLinuxOptions:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* agent block shared by both configs; arg: dict "root" . "dataDir" DIR */}}
{{- define "octoagent.agentHCL" -}}
agent {
  data_dir         = {{ .dataDir | quote }}
  http_addr        = "0.0.0.0:{{ .root.Values.httpPort }}"
  admin_addr       = "127.0.0.1:{{ .root.Values.adminPort }}"
  shutdown_timeout = {{ .root.Values.shutdownTimeout | quote }}
}
{{- end }}

{{/* The sink block; arg: dict "root" . "inputs" LIST */}}
{{- define "octoagent.sinkHCL" -}}
{{- $v := .root.Values }}
{{- if $v.octostore.endpoint }}
sink "octostore" "central" {
  inputs            = [{{ join ", " .inputs }}]
  endpoint          = {{ $v.octostore.endpoint | quote }}
  {{- if include "octoagent.useSecret" .root }}
  token_file        = "/etc/octoagent/secret/token"
  {{- end }}
  batch_max_records = {{ $v.octostore.batchMaxRecords }}
  batch_max_wait    = {{ $v.octostore.batchMaxWait | quote }}
}
{{- else }}
sink "stdout" "out" {
  inputs = [{{ join ", " .inputs }}]
}
{{- end }}
{{- end }}

{{- define "octoagent.nodeConfig" -}}
{{- $v := .Values.daemonset }}
agent.hcl: |
  {{- include "octoagent.agentHCL" (dict "root" . "dataDir" "/var/lib/octoagent") | nindent 2 }}
source.hcl: |
  source "kubernetes_logs" "pods" {
    pods_dir           = {{ $v.podsDir | quote }}
    exclude_namespaces = {{ toJson $v.excludeNamespaces }}
    {{- /* pod_metadata is on by default in the source, with the in-cluster
    token this chart mounts when podMetadata.enabled. */}}
    {{- if not $v.podMetadata.enabled }}
    pod_metadata {
      enabled = false
    }
    {{- end }}
  }
sink.hcl: |
  {{- $inputs := $v.sinkInputs | default (list "source.kubernetes_logs.pods" "source.kubernetes_logs.pods.dead_letter") }}
  {{- include "octoagent.sinkHCL" (dict "root" . "inputs" $inputs) | nindent 2 }}
{{- with $v.extraConfig }}
extra.hcl: |
  {{- . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "octoagent.eventsConfig" -}}
{{- $v := .Values.deployment }}
agent.hcl: |
  {{- include "octoagent.agentHCL" (dict "root" . "dataDir" "/var/lib/octoagent") | nindent 2 }}
source.hcl: |
  source "kubernetes_events" "cluster" {
    cluster        = {{ .Values.clusterName | quote }}
    enrich_owners  = {{ $v.enrichOwners }}
    {{- with $v.namespace }}
    namespace      = {{ . | quote }}
    {{- end }}
    {{- with $v.fieldSelector }}
    field_selector = {{ . | quote }}
    {{- end }}
    {{- if $v.leaderElection.enabled }}

    leader_election {
      lease_name = {{ $v.leaderElection.leaseName | quote }}
      namespace  = {{ .Release.Namespace | quote }}
      duration   = {{ $v.leaderElection.duration | quote }}
    }
    {{- end }}
  }
rules.hcl: |
  {{- .Files.Get "files/kubernetes-events-rules.hcl" | nindent 2 }}
crashloop_context.hcl: |
  {{- .Files.Get "files/kubernetes-events-crashloop-context.hcl" | nindent 2 }}
sink.hcl: |
  {{- $def := list "transform.k8s_crashloop_context" "transform.k8s_crashloop_context.dead_letter" }}
  {{- range list "k8s_deployment_rollout" "k8s_pod_created" "k8s_pod_deleted" "k8s_pod_crashloop" "k8s_image_pull" "k8s_oom_killed" "k8s_scheduling_failed" "k8s_node_condition" "k8s_event" }}
  {{- $def = append $def (printf "transform.%s" .) }}
  {{- $def = append $def (printf "transform.%s.dead_letter" .) }}
  {{- end }}
  {{- $inputs := $v.sinkInputs | default $def }}
  {{- include "octoagent.sinkHCL" (dict "root" . "inputs" $inputs) | nindent 2 }}
{{- with $v.extraConfig }}
extra.hcl: |
  {{- . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Where `kubectl exec POD -- octoagent tap` finds /tap: the admin
listener, on the pod's localhost only. */}}
{{- define "octoagent.adminEnv" -}}
- name: OCTOAGENT_ADMIN_ADDR
  value: "127.0.0.1:{{ .Values.adminPort }}"
{{- end }}

{{/* Probes and ports shared by both workloads. */}}
{{- define "octoagent.probes" -}}
ports:
  - name: http
    containerPort: {{ .Values.httpPort }}
    protocol: TCP
livenessProbe:
  httpGet:
    path: /healthz
    port: http
  initialDelaySeconds: 5
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: http
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 2
{{- end }}
