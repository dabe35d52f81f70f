# Traefik's JSON access log becomes proxy_access records (schema in
# configs/schemas/proxy_access.hcl), its keys renamed to the schema's by
# jq; the record's time is StartUTC.
#
#   octoagent run -c configs/schemas -c configs/traefik -c my-sinks.hcl
transform "traefik" {
  inputs = [source.file.traefik]
  schema = schema.proxy_access

  jq = <<-EOT
    .message | fromjson | {
      proxy: "traefik", mode: "http", start_time: .StartUTC,
      client_ip: .ClientHost, client_port: (.ClientPort | if type == "string" then (tonumber? // null) else . end),
      client_user: (.ClientUsername | if . == "-" then null else . end),
      method: .RequestMethod, path: .RequestPath, protocol: .RequestProtocol, scheme: .RequestScheme,
      authority: .RequestHost, status: .DownstreamStatus,
      bytes_received: .RequestContentSize, bytes_sent: .DownstreamContentSize,
      duration_ms: (.Duration | if . then . / 1000000 else null end),
      upstream_ms: (.OriginDuration | if . then . / 1000000 else null end),
      upstream_status: .OriginStatus,
      frontend: .entryPointName, router: .RouterName, backend: .ServiceName,
      upstream: .ServiceAddr, retries: .RetryAttempts,
      tls_version: .TLSVersion, tls_cipher: .TLSCipher,
      user_agent: ."request_User-Agent", request_id: ."request_X-Request-Id",
      forwarded_for: ."request_X-Forwarded-For", trace_id: .TraceId
    } | del(.[] | nulls)
  EOT

  timestamp {
    field  = "start_time"
    layout = "rfc3339"
  }
}
