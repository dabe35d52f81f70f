# The same nginx parse written four ways. A test checks that they give
# identical records on the sample log.
source "stdin" "in" {}

transform "by_regex" {
  inputs = [source.stdin.in]
  schema = schema.http_request
  parse "regex" {
    pattern = "^(?P<client_ip>\\S+) - (?P<user>\\S+) \\[(?P<time>[^\\]]+)\\] \"(?P<method>[A-Z]+) (?P<path>[^ \"]+) (?P<protocol>[^\"]+)\" (?P<status>\\d{3}) (?P<bytes>\\d+|-) \"(?P<referer>[^\"]*)\" \"(?P<user_agent>[^\"]*)\"$"
  }
  timestamp {
    field  = "time"
    layout = "common_log"
  }
}

transform "by_grok" {
  inputs = [source.stdin.in]
  schema = schema.http_request
  parse "grok" {
    pattern = "^%%{NGINX_COMBINED}$"
  }
  timestamp {
    field  = "time"
    layout = "common_log"
  }
}

transform "by_split" {
  inputs = [source.stdin.in]
  schema = schema.http_request
  parse "split" {
    fields = ["client_ip", "-", "user", "time", "request", "status", "bytes", "referer", "user_agent"]
  }
  parse "split" {
    field        = "request"
    remove_field = true
    fields       = ["method", "path", "protocol"]
  }
  timestamp {
    field  = "time"
    layout = "common_log"
  }
}

transform "by_awk" {
  inputs = [source.stdin.in]
  schema = schema.http_request
  parse "awk" {
    program = <<-AWK
      {
        if (split($0, q, "\"") != 7) { fail("expected three quoted parts"); next }
        n = split(q[1], a, " ")
        if (n != 5) { fail("expected client, ident, user and time"); next }
        if (split(q[2], req, " ") != 3) { fail("expected method, path and protocol"); next }
        if (split(q[3], sb, " ") != 2) { fail("expected status and bytes"); next }
        set("client_ip", a[1]); set("user", a[3])
        set("time", substr(a[4], 2) " " substr(a[5], 1, length(a[5]) - 1))
        set("method", req[1]); set("path", req[2]); set("protocol", req[3])
        set("status", sb[1]); set("bytes", sb[2])
        set("referer", q[4]); set("user_agent", q[6])
      }
    AWK
  }
  timestamp {
    field  = "time"
    layout = "common_log"
  }
}

sink "stdout" "out" {
  inputs = [transform.by_regex, transform.by_grok, transform.by_split, transform.by_awk]
}
