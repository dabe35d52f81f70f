# The quickstart: read the sample nginx log, turn each line into a typed
# http_request record with the nginx rule pack, and print records and dead
# letters as JSON lines.
#
#   make run
#   (= octoagent run --once -c configs/quickstart.hcl -c configs/schemas -c configs/nginx/rules.hcl)

agent {
  data_dir  = "./.octoagent"   # checkpoints live here
  http_addr = "127.0.0.1:9598" # /metrics, /healthz, /readyz
}

# The pack's transform reads source.file.nginx: here it is the sample.
source "file" "nginx" {
  paths    = ["${config_dir}/samples/nginx_access.log"]
  start_at = "beginning"
}

# Lines no rule can read are not lost: they come out as dead_letter records
# with the raw line and the reasons, per field.
sink "stdout" "out" {
  inputs = [transform.nginx_access, transform.nginx_access.dead_letter]
}
