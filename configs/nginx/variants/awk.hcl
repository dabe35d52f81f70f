# The nginx pack's parse written with a real AWK program: use it instead of
# configs/nginx/rules.hcl (same transform name, same schema, same records).
#
#   octoagent run -c configs/schemas -c configs/nginx/source.hcl -c configs/nginx/variants/awk.hcl -c my-sinks.hcl

transform "nginx_access" {
  inputs = [source.file.nginx]
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
