agent {
  data_dir = "/var/lib/octoagent"
}

source "file" "nginx" {
  paths    = ["/var/log/nginx/access.log*"] # rotated files too
  exclude  = ["*.gz"]
  start_at = "beginning" # only on the first run, for files with no checkpoint
  # max_open_files = 1024
  # multiline { start_pattern = "^\\d{4}-" }
}

sink "stdout" "out" {
  inputs = [source.file.nginx, source.file.nginx.dead_letter]
}
