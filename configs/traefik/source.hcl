# Traefik's access log in JSON (accessLog.format = "json", and
# accessLog.filePath; in a container it goes to stdout). Set
# TRAEFIK_ACCESS_LOG to your path.
source "file" "traefik" {
  paths   = [env("TRAEFIK_ACCESS_LOG", "/var/log/traefik/access.log*")]
  exclude = ["*.gz"]
}
