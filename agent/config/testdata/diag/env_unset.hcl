source "file" "a" {
  paths = [env("OCTOAGENT_TEST_UNSET")]
}

sink "stdout" "out" {
  inputs = [source.file.a]
}
