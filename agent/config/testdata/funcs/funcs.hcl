agent {
  data_dir = "${config_dir}/data"
  host     = env("OCTOAGENT_TEST_HOST")
}

source "stdin" "in" {}

transform "with_env" {
  inputs = [source.stdin.in]
  kind   = env("OCTOAGENT_TEST_KIND", "unused default")
}

transform "with_default" {
  inputs = [transform.with_env]
  kind   = env("OCTOAGENT_TEST_UNSET", "fallback_kind")
}

# file() reads relative to this file's directory, not the working directory.
sink "file" "archive" {
  inputs = [transform.with_default]
  path   = file("sub/path.txt")
}
