# Apache "common" and "combined" access lines become http_request records
# (schema in configs/schemas/http_request.hcl). One transform reads both:
# the combined pattern is tried first.
transform "apache_access" {
  inputs = [source.file.apache]
  schema = schema.http_request

  # In HCL strings, grok references are written %%{NAME}: a lone %{ starts a template.
  parse "grok" {
    patterns = ["^%%{APACHE_COMBINED}$", "^%%{APACHE_COMMON}$"]
  }

  timestamp {
    field  = "time"
    layout = "common_log"
  }
}
