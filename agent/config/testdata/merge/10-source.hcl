source "file" "nginx" {
  paths = ["/var/log/nginx/access.log"]
}
