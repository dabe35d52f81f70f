# Envoy's access logs (a file access logger, or /dev/stdout in a
# container). Set ENVOY_ACCESS_LOG (the text format) and ENVOY_JSON_LOG
# (json_format) to your paths.
source "file" "envoy" {
  paths   = [env("ENVOY_ACCESS_LOG", "/var/log/envoy/access.log*")]
  exclude = ["*.gz"]
}

source "file" "envoy_json" {
  paths   = [env("ENVOY_JSON_LOG", "/var/log/envoy/access.json*")]
  exclude = ["*.gz"]
}
