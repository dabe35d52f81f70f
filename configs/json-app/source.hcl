# JSON application logs, one object per line.
source "file" "app" {
  paths = [env("APP_LOG", "/var/log/app/*.log")]
}
