# The Apache access log. Set APACHE_ACCESS_LOG to read another path.
source "file" "apache" {
  paths   = [env("APACHE_ACCESS_LOG", "/var/log/apache2/access.log*")]
  exclude = ["*.gz"]
}
