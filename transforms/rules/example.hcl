source "file" "nginx" {
  paths = ["/var/log/nginx/access.log"]
}

transform "nginx_access" {
  inputs = [source.file.nginx]
  kind   = "http_request"

  parse "regex" {
    pattern = "^(?P<client_ip>\\S+) \\S+ (?P<user>\\S+) \\[(?P<time>[^\\]]+)\\] \"(?P<method>[A-Z]+) (?P<path>[^ \"]+) (?P<protocol>[^\"]+)\" (?P<status>\\d{3}) (?P<bytes>\\d+|-)"
  }
}

# Records and dead letters both go to standard output.
sink "stdout" "out" {
  inputs = [transform.nginx_access, transform.nginx_access.dead_letter]
}
