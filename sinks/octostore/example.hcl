source "file" "nginx" {
  paths = ["/var/log/nginx/access.log"]
}

sink "octostore" "central" {
  inputs     = [source.file.nginx]
  endpoint   = "https://octostore.internal:8443"
  token_file = "/etc/octoagent/octostore.token" # read again when it changes

  batch_max_records = 1000
  batch_max_wait    = "1s"
  in_flight         = 4

  tls {
    ca_file = "/etc/octoagent/octostore-ca.pem"
  }

  buffer {
    type      = "disk" # records survive a crash and a long outage
    max_bytes = "1GiB"
  }
}

sink "stdout" "rejected" {
  inputs = [sink.octostore.central.dead_letter]
}
