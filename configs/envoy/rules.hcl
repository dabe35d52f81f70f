# Envoy access logs become proxy_access records (schema in
# configs/schemas/proxy_access.hcl): Envoy's default text format, Istio's
# text format, and JSON with Istio's keys.
#
#   octoagent run -c configs/schemas -c configs/envoy -c my-sinks.hcl
transform "envoy" {
  inputs = [source.file.envoy]
  schema = schema.proxy_access

  parse "regex" {
    patterns = [
      # Envoy's default format:
      # [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS%
      # %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%"
      # "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"
      <<-EOT
        ^\[(?P<start_time>[^\]]+)\] "(?P<method>\S+) (?P<path>\S+) (?P<protocol>[^"]+)" (?P<status>\d+) (?P<response_flags>\S+) (?P<bytes_received>\d+) (?P<bytes_sent>\d+) (?P<duration_ms>\d+|-) (?P<upstream_ms>\d+|-) "(?P<forwarded_for>[^"]*)" "(?P<user_agent>[^"]*)" "(?P<request_id>[^"]*)" "(?P<authority>[^"]*)" "(?P<upstream>[^"]*)"$
      EOT
      ,
      # Istio's: the same, with %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%
      # "%UPSTREAM_TRANSPORT_FAILURE_REASON%" after the flags, and %UPSTREAM_CLUSTER%
      # %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%
      # %REQUESTED_SERVER_NAME% %ROUTE_NAME% at the end.
      <<-EOT
        ^\[(?P<start_time>[^\]]+)\] "(?P<method>\S+) (?P<path>\S+) (?P<protocol>[^"]+)" (?P<status>\d+) (?P<response_flags>\S+) (?P<response_code_details>\S+) (?P<connection_termination_details>\S+) "(?P<upstream_failure>[^"]*)" (?P<bytes_received>\d+) (?P<bytes_sent>\d+) (?P<duration_ms>\d+|-) (?P<upstream_ms>\d+|-) "(?P<forwarded_for>[^"]*)" "(?P<user_agent>[^"]*)" "(?P<request_id>[^"]*)" "(?P<authority>[^"]*)" "(?P<upstream>[^"]*)" (?P<upstream_cluster>\S+) (?P<upstream_local_address>\S+) (?P<downstream_local_address>\S+) (?:(?P<client_ip>[0-9a-fA-F.:]+):(?P<client_port>\d+)|-) (?P<server_name>\S+) (?P<route_name>\S+)$
      EOT
      ,
    ]
  }

  set {
    proxy = "'envoy'"
    mode  = "method == nil ? 'tcp' : 'http'"
  }

  timestamp {
    field  = "start_time"
    layout = "rfc3339"
  }
}

# json_format with Istio's keys (its meshConfig accessLogEncoding: JSON).
transform "envoy_json" {
  inputs = [source.file.envoy_json]
  schema = schema.proxy_access

  jq = <<-EOT
    .message | fromjson
    | ((.downstream_remote_address // "") | capture("^\\[?(?<ip>[^\\]]*?)\\]?:(?<port>[0-9]+)$")? // {}) as $client
    | {
        proxy: "envoy", mode: (if (.method // "-") == "-" then "tcp" else "http" end),
        start_time: .start_time, method: .method, path: .path, protocol: .protocol,
        status: .response_code, response_flags: .response_flags,
        response_code_details: .response_code_details,
        bytes_received: .bytes_received, bytes_sent: .bytes_sent,
        duration_ms: .duration, upstream_ms: .upstream_service_time,
        forwarded_for: .x_forwarded_for, user_agent: .user_agent, request_id: .request_id,
        authority: .authority, upstream: .upstream_host, upstream_cluster: .upstream_cluster,
        client_ip: $client.ip, client_port: ($client.port | if . then tonumber else null end),
        server_name: .requested_server_name, route_name: .route_name
      }
    | del(.[] | nulls)
  EOT

  timestamp {
    field  = "start_time"
    layout = "rfc3339"
  }
}
