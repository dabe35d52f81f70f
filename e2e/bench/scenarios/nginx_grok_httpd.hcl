# The nginx pack's lines parsed with Logstash's %{HTTPD_COMBINEDLOG} (ECS
# names, nested objects, as Logstash 8 gives them) instead of the pack's
# regex: used with nginx.hcl (source and sink), without the pack's schema.
transform "nginx_access" {
  inputs = [source.file.nginx]
  parse "grok" {
    pattern = "%%{HTTPD_COMBINEDLOG}"
  }
  timestamp {
    field  = "timestamp"
    layout = "common_log"
  }
}
