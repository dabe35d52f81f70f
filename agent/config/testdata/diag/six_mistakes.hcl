# Six distinct mistakes, one diagnostic each. golden_test.go checks the
# position of every one; keep the table there in step with this file.

source "file" "nginx" {
  paths = ["/var/log/nginx/access.log"]
}

# (a) unknown component type, a near miss of "file".
source "fiel" "x" {
  paths = ["/var/log/x.log"]
}

# (e) wrong attribute type: paths is a list of strings.
source "file" "app" {
  paths = 5
}

# (d) a cycle between two transforms, reported once.
transform "a" {
  inputs = [transform.b]
}

transform "b" {
  inputs = [transform.a, source.file.nginx]
}

# (b) unknown reference, a near miss of source.file.nginx.
sink "stdout" "out" {
  inputs = [source.file.ngnix, source.file.app]
}

# (c) duplicate name.
sink "stdout" "out" {
  inputs = [source.file.nginx]
}

# (f) missing required attribute: path.
sink "file" "archive" {
  inputs = [source.file.nginx]
}
