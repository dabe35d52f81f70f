# PostgreSQL's server log, in the three destinations of log_destination:
# stderr (through the logging collector: log_directory/log_filename),
# csvlog (.csv) and jsonlog (.json, PostgreSQL 15+). The Debian and Ubuntu
# packages write stderr to /var/log/postgresql/. Set POSTGRES_LOG,
# POSTGRES_CSVLOG and POSTGRES_JSONLOG to your paths.

# A message and its DETAIL, HINT, CONTEXT, STATEMENT and QUERY lines, and
# the tab-indented lines of a multi-line statement, are one record.
source "file" "postgresql" {
  paths   = [env("POSTGRES_LOG", "/var/log/postgresql/postgresql-*.log")]
  exclude = ["*.gz"]
  multiline {
    preset = "postgresql"
  }
}

# A CSV record spans lines when a value holds a line break: a record
# starts at a line that starts with the log time.
source "file" "postgresql_csv" {
  paths = [env("POSTGRES_CSVLOG", "/var/lib/postgresql/data/log/*.csv")]
  multiline {
    start_pattern = "^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d(\\.\\d+)? [^,]*,"
  }
}

source "file" "postgresql_json" {
  paths = [env("POSTGRES_JSONLOG", "/var/lib/postgresql/data/log/*.json")]
}
