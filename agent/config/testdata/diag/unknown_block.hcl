source "file" "nginx" {
  paths = ["/var/log/nginx/access.log"]
}

sorce "file" "app" {
  paths = ["/var/log/app.log"]
}

sink "stdout" "out" {
  inputs = [source.file.nginx]
}
