agent {
  data_dir = "/var/lib/octoagent"
}

source "file" "nginx" {
  paths    = ["/var/log/nginx/access.log*"]
  exclude  = ["/var/log/nginx/*.gz"]
  start_at = "beginning" # only for files with no checkpoint
  # poll_interval  = "250ms"
  # max_line_bytes = 102400
}

sink "stdout" "out" {
  inputs = [source.file.nginx]
}
