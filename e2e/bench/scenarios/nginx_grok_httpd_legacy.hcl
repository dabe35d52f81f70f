# As nginx_grok_httpd.hcl, with Logstash's legacy names (flat fields:
# clientip, verb, request, response, bytes, ...): ecs_compatibility =
# "disabled".
transform "nginx_access" {
  inputs = [source.file.nginx]
  parse "grok" {
    pattern           = "%%{HTTPD_COMBINEDLOG}"
    ecs_compatibility = "disabled"
  }
  timestamp {
    field  = "timestamp"
    layout = "common_log"
  }
}
