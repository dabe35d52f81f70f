# The nginx access log. Set NGINX_ACCESS_LOG to read another path.
source "file" "nginx" {
  paths   = [env("NGINX_ACCESS_LOG", "/var/log/nginx/access.log*")]
  exclude = ["*.gz"]
}
