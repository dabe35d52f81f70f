# Tests of the postgresql pack: stderr records (a message with its
# DETAIL, HINT, CONTEXT, STATEMENT and QUERY lines, as the source's
# multiline preset joins them: the input holds the line breaks) under four
# log_line_prefix settings, csvlog and jsonlog, each group with its source
# named, then malformed lines.
# stderr with the default log_line_prefix '%m [%p] ' (PostgreSQL
# documentation, "Error Reporting and Logging", log_line_prefix, and the
# server's own start-up, checkpoint and error messages).
test "postgresql_ready" {
  transform = transform.postgresql
  input     = "2026-11-21 05:41:35.123 UTC [12345] LOG:  database system is ready to accept connections"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:41:35.123Z"
    fields = {
      log_time = "2026-11-21 05:41:35.123 UTC"
      message = "database system is ready to accept connections"
      pid = 12345
      severity = "LOG"
    }
  }
}

test "postgresql_starting" {
  transform = transform.postgresql
  input     = "2026-11-21 05:41:34.900 UTC [12345] LOG:  starting PostgreSQL 16.4 (Debian 16.4-1.pgdg120+2) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:41:34.9Z"
    fields = {
      log_time = "2026-11-21 05:41:34.900 UTC"
      message = "starting PostgreSQL 16.4 (Debian 16.4-1.pgdg120+2) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit"
      pid = 12345
      severity = "LOG"
    }
  }
}

test "postgresql_checkpoint" {
  transform = transform.postgresql
  input     = "2026-11-21 05:46:35.001 UTC [12350] LOG:  checkpoint complete: wrote 3 buffers (0.0%); 0 WAL file(s) added, 0 removed, 0 recycled; write=0.301 s, sync=0.002 s, total=0.312 s; sync files=2, longest=0.001 s, average=0.001 s; distance=9 kB, estimate=9 kB; lsn=0/1A2B3C4, redo lsn=0/1A2B300"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:46:35.001Z"
    fields = {
      log_time = "2026-11-21 05:46:35.001 UTC"
      message = "checkpoint complete: wrote 3 buffers (0.0%); 0 WAL file(s) added, 0 removed, 0 recycled; write=0.301 s, sync=0.002 s, total=0.312 s; sync files=2, longest=0.001 s, average=0.001 s; distance=9 kB, estimate=9 kB; lsn=0/1A2B3C4, redo lsn=0/1A2B300"
      pid = 12350
      severity = "LOG"
    }
  }
}

test "postgresql_unique_violation" {
  transform = transform.postgresql
  input     = "2026-11-21 05:47:00.250 UTC [12400] ERROR:  duplicate key value violates unique constraint \"users_pkey\"\n2026-11-21 05:47:00.250 UTC [12400] DETAIL:  Key (id)=(1) already exists.\n2026-11-21 05:47:00.250 UTC [12400] STATEMENT:  INSERT INTO users (id, name) VALUES (1, 'alice');"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:47:00.25Z"
    fields = {
      detail = "Key (id)=(1) already exists."
      log_time = "2026-11-21 05:47:00.250 UTC"
      message = "duplicate key value violates unique constraint \"users_pkey\""
      pid = 12400
      severity = "ERROR"
      statement = "INSERT INTO users (id, name) VALUES (1, 'alice');"
    }
  }
}

test "postgresql_undefined_table" {
  transform = transform.postgresql
  input     = "2026-11-21 05:47:01.000 UTC [12401] ERROR:  relation \"orderz\" does not exist at character 15\n2026-11-21 05:47:01.000 UTC [12401] HINT:  Perhaps you meant to reference the table \"public.orders\".\n2026-11-21 05:47:01.000 UTC [12401] STATEMENT:  SELECT * FROM orderz\n\tWHERE id = 42;"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:47:01Z"
    fields = {
      hint = "Perhaps you meant to reference the table \"public.orders\"."
      log_time = "2026-11-21 05:47:01.000 UTC"
      message = "relation \"orderz\" does not exist at character 15"
      pid = 12401
      severity = "ERROR"
      statement = "SELECT * FROM orderz\n\tWHERE id = 42;"
    }
  }
}

test "postgresql_deadlock" {
  transform = transform.postgresql
  input     = "2026-11-21 05:48:00.000 UTC [12402] ERROR:  deadlock detected\n2026-11-21 05:48:00.000 UTC [12402] DETAIL:  Process 12402 waits for ShareLock on transaction 7341; blocked by process 12403.\n\tProcess 12403 waits for ShareLock on transaction 7340; blocked by process 12402.\n\tProcess 12402: UPDATE accounts SET balance = balance - 10 WHERE id = 1;\n\tProcess 12403: UPDATE accounts SET balance = balance + 10 WHERE id = 2;\n2026-11-21 05:48:00.000 UTC [12402] HINT:  See server log for query details.\n2026-11-21 05:48:00.000 UTC [12402] CONTEXT:  while updating tuple (0,1) in relation \"accounts\"\n2026-11-21 05:48:00.000 UTC [12402] STATEMENT:  UPDATE accounts SET balance = balance - 10 WHERE id = 1;"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:48:00Z"
    fields = {
      context = "while updating tuple (0,1) in relation \"accounts\""
      detail = "Process 12402 waits for ShareLock on transaction 7341; blocked by process 12403.\n\tProcess 12403 waits for ShareLock on transaction 7340; blocked by process 12402.\n\tProcess 12402: UPDATE accounts SET balance = balance - 10 WHERE id = 1;\n\tProcess 12403: UPDATE accounts SET balance = balance + 10 WHERE id = 2;"
      hint = "See server log for query details."
      log_time = "2026-11-21 05:48:00.000 UTC"
      message = "deadlock detected"
      pid = 12402
      severity = "ERROR"
      statement = "UPDATE accounts SET balance = balance - 10 WHERE id = 1;"
    }
  }
}

test "postgresql_plpgsql_query" {
  transform = transform.postgresql
  input     = "2026-11-21 05:49:00.000 UTC [12404] ERROR:  division by zero\n2026-11-21 05:49:00.000 UTC [12404] CONTEXT:  PL/pgSQL function ratio(integer,integer) line 3 at RETURN\n2026-11-21 05:49:00.000 UTC [12404] QUERY:  SELECT a / b\n2026-11-21 05:49:00.000 UTC [12404] STATEMENT:  SELECT ratio(1, 0);"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:49:00Z"
    fields = {
      context = "PL/pgSQL function ratio(integer,integer) line 3 at RETURN"
      internal_query = "SELECT a / b"
      log_time = "2026-11-21 05:49:00.000 UTC"
      message = "division by zero"
      pid = 12404
      severity = "ERROR"
      statement = "SELECT ratio(1, 0);"
    }
  }
}

test "postgresql_fatal_auth" {
  transform = transform.postgresql
  input     = "2026-11-21 05:50:00.000 UTC [12405] FATAL:  password authentication failed for user \"app\"\n2026-11-21 05:50:00.000 UTC [12405] DETAIL:  Connection matched file \"/etc/postgresql/16/main/pg_hba.conf\" line 128: \"host all all 0.0.0.0/0 scram-sha-256\""

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:50:00Z"
    fields = {
      detail = "Connection matched file \"/etc/postgresql/16/main/pg_hba.conf\" line 128: \"host all all 0.0.0.0/0 scram-sha-256\""
      log_time = "2026-11-21 05:50:00.000 UTC"
      message = "password authentication failed for user \"app\""
      pid = 12405
      severity = "FATAL"
    }
  }
}

test "postgresql_slow_statement" {
  transform = transform.postgresql
  input     = "2026-11-21 05:51:00.000 UTC [12406] LOG:  duration: 1523.456 ms  statement: SELECT count(*) FROM orders o JOIN order_lines l ON l.order_id = o.id;"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:51:00Z"
    fields = {
      duration_ms = 1523.456
      log_time = "2026-11-21 05:51:00.000 UTC"
      message = "duration: 1523.456 ms  statement: SELECT count(*) FROM orders o JOIN order_lines l ON l.order_id = o.id;"
      pid = 12406
      severity = "LOG"
      statement = "SELECT count(*) FROM orders o JOIN order_lines l ON l.order_id = o.id;"
    }
  }
}

test "postgresql_warning_checkpoints" {
  transform = transform.postgresql
  input     = "2026-11-21 05:52:00.000 UTC [12350] LOG:  checkpoints are occurring too frequently (24 seconds apart)\n2026-11-21 05:52:00.000 UTC [12350] HINT:  Consider increasing the configuration parameter \"max_wal_size\"."

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:52:00Z"
    fields = {
      hint = "Consider increasing the configuration parameter \"max_wal_size\"."
      log_time = "2026-11-21 05:52:00.000 UTC"
      message = "checkpoints are occurring too frequently (24 seconds apart)"
      pid = 12350
      severity = "LOG"
    }
  }
}

# The Debian and Ubuntu packages' prefix '%m [%p] %q%u@%d ' (postgresql.conf
# of postgresql-common): sessions carry user@database, background
# processes do not.
test "postgresql_debian_session" {
  transform = transform.postgresql
  input     = "2026-11-21 05:53:00.000 UTC [12407] app@shop ERROR:  permission denied for table payments\n2026-11-21 05:53:00.000 UTC [12407] app@shop STATEMENT:  SELECT * FROM payments;"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:53:00Z"
    fields = {
      database = "shop"
      log_time = "2026-11-21 05:53:00.000 UTC"
      message = "permission denied for table payments"
      pid = 12407
      severity = "ERROR"
      statement = "SELECT * FROM payments;"
      user = "app"
    }
  }
}

test "postgresql_debian_background" {
  transform = transform.postgresql
  input     = "2026-11-21 05:53:01.000 UTC [12350] LOG:  checkpoint starting: time"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:53:01Z"
    fields = {
      log_time = "2026-11-21 05:53:01.000 UTC"
      message = "checkpoint starting: time"
      pid = 12350
      severity = "LOG"
    }
  }
}

# pgBadger's recommended prefix '%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h '
# (pgBadger documentation, "POSTGRESQL CONFIGURATION").
test "postgresql_pgbadger_duration" {
  transform = transform.postgresql
  input     = "2026-11-21 05:54:00 UTC [12408]: [3-1] user=app,db=shop,app=psql,client=10.0.0.5 LOG:  duration: 12.345 ms  statement: SELECT 1;"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:54:00Z"
    fields = {
      application = "psql"
      client = "10.0.0.5"
      database = "shop"
      duration_ms = 12.345
      log_time = "2026-11-21 05:54:00 UTC"
      message = "duration: 12.345 ms  statement: SELECT 1;"
      pid = 12408
      session_line = 3
      severity = "LOG"
      statement = "SELECT 1;"
      user = "app"
    }
  }
}

test "postgresql_pgbadger_connection" {
  transform = transform.postgresql
  input     = "2026-11-21 05:54:01 UTC [12409]: [1-1] user=[unknown],db=[unknown],app=[unknown],client=10.0.0.6 LOG:  connection received: host=10.0.0.6 port=52311"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:54:01Z"
    fields = {
      client = "10.0.0.6"
      log_time = "2026-11-21 05:54:01 UTC"
      message = "connection received: host=10.0.0.6 port=52311"
      pid = 12409
      session_line = 1
      severity = "LOG"
    }
  }
}

test "postgresql_pgbadger_error" {
  transform = transform.postgresql
  input     = "2026-11-21 05:54:02 UTC [12410]: [2-1] user=app,db=shop,app=psql,client=10.0.0.5 ERROR:  syntax error at or near \"SELEC\" at character 1\n2026-11-21 05:54:02 UTC [12410]: [3-1] user=app,db=shop,app=psql,client=10.0.0.5 STATEMENT:  SELEC 1;"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:54:02Z"
    fields = {
      application = "psql"
      client = "10.0.0.5"
      database = "shop"
      log_time = "2026-11-21 05:54:02 UTC"
      message = "syntax error at or near \"SELEC\" at character 1"
      pid = 12410
      session_line = 2
      severity = "ERROR"
      statement = "SELEC 1;"
      user = "app"
    }
  }
}

# Amazon RDS's fixed prefix '%t:%r:%u@%d:[%p]:' (Amazon RDS for PostgreSQL
# documentation, "RDS for PostgreSQL database log files").
test "postgresql_rds_connection" {
  transform = transform.postgresql
  input     = "2026-11-21 05:55:00 UTC:10.0.0.7(52312):app@shop:[12411]:LOG:  connection authorized: user=app database=shop SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:55:00Z"
    fields = {
      client = "10.0.0.7"
      client_port = 52312
      database = "shop"
      log_time = "2026-11-21 05:55:00 UTC"
      message = "connection authorized: user=app database=shop SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)"
      pid = 12411
      severity = "LOG"
      user = "app"
    }
  }
}

test "postgresql_rds_background" {
  transform = transform.postgresql
  input     = "2026-11-21 05:55:01 UTC::@:[12350]:LOG:  checkpoint starting: time"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:55:01Z"
    fields = {
      log_time = "2026-11-21 05:55:01 UTC"
      message = "checkpoint starting: time"
      pid = 12350
      severity = "LOG"
    }
  }
}

# log_timezone = 'Europe/Paris': its abbreviations CET and CEST are read
# with their offsets (the pack's timezone is UTC as shipped, so the
# tests' abbreviation UTC; another zone's is a dead letter).
test "postgresql_other_zone" {
  transform = transform.postgresql
  input     = "2026-11-21 06:41:35.123 CET [12345] LOG:  database system is ready to accept connections"

  expect_dead_letter {
    reason = "timestamp"
    step   = "timestamp"
    error  = "zone abbreviation \"CET\" is not one of timezone UTC's: it is "
  }
}

# Malformed: no prefix, an unknown severity, a cut line.
test "postgresql_no_prefix" {
  transform = transform.postgresql
  input     = "database system is ready to accept connections"

  expect_dead_letter {
    reason = "no_match"
    step   = "parse.regex"
    error  = "no pattern matched (3 tried)"
  }
}

test "postgresql_bad_severity" {
  transform = transform.postgresql
  input     = "2026-11-21 05:41:35.123 UTC [12345] LOUD:  what"

  expect_dead_letter {
    reason = "schema"
    step   = "parse.regex"
    error  = "expects one of DEBUG5, DEBUG4, DEBUG3, DEBUG2, DEBUG1, INFO,"
  }
}

test "postgresql_cut" {
  transform = transform.postgresql
  input     = "2026-11-21 05:41:35.123 UTC [123"

  expect_dead_letter {
    reason = "no_match"
    step   = "parse.regex"
    error  = "no pattern matched (3 tried)"
  }
}


# csvlog lines (PostgreSQL documentation, "Using CSV-Format Log Output":
# the columns of PostgreSQL 14 and later; 13 has 24 of them, 12 and
# before 23), with a value holding a line break (a record over two lines).
test "postgresql_csv_ready" {
  transform = transform.postgresql_csv
  input     = "2026-11-21 05:41:35.123 UTC,,,12345,,6740a1ef.3039,1,,2026-11-21 05:41:34 UTC,,0,LOG,00000,\"database system is ready to accept connections\",,,,,,,,,\"\",postmaster,,0"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:41:35.123Z"
    fields = {
      backend_type = "postmaster"
      log_time = "2026-11-21 05:41:35.123 UTC"
      message = "database system is ready to accept connections"
      pid = 12345
      session_id = "6740a1ef.3039"
      session_line = 1
      session_start = "2026-11-21 05:41:34 UTC"
      severity = "LOG"
      sql_state = "00000"
    }
  }
}

test "postgresql_csv_unique" {
  transform = transform.postgresql_csv
  input     = "2026-11-21 05:47:00.250 UTC,\"app\",\"shop\",12400,\"10.0.0.5:52311\",6740a2a4.3070,3,\"INSERT\",2026-11-21 05:46:59 UTC,3/42,7340,ERROR,23505,\"duplicate key value violates unique constraint \"\"users_pkey\"\"\",\"Key (id)=(1) already exists.\",,,,,\"INSERT INTO users (id, name) VALUES (1, 'alice');\",,,\"psql\",\"client backend\",,-6123412341234123412"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:47:00.25Z"
    fields = {
      application = "psql"
      backend_type = "client backend"
      client = "10.0.0.5"
      client_port = 52311
      command_tag = "INSERT"
      database = "shop"
      detail = "Key (id)=(1) already exists."
      log_time = "2026-11-21 05:47:00.250 UTC"
      message = "duplicate key value violates unique constraint \"users_pkey\""
      pid = 12400
      query_id = -6123412341234123412
      session_id = "6740a2a4.3070"
      session_line = 3
      session_start = "2026-11-21 05:46:59 UTC"
      severity = "ERROR"
      sql_state = "23505"
      statement = "INSERT INTO users (id, name) VALUES (1, 'alice');"
      transaction_id = 7340
      user = "app"
      virtual_transaction_id = "3/42"
    }
  }
}

test "postgresql_csv_multiline" {
  transform = transform.postgresql_csv
  input     = "2026-11-21 05:47:01.000 UTC,\"app\",\"shop\",12401,\"10.0.0.5:52312\",6740a2a5.3071,2,\"SELECT\",2026-11-21 05:46:59 UTC,3/43,0,ERROR,42P01,\"relation \"\"orderz\"\" does not exist\",,\"Perhaps you meant to reference the table \"\"public.orders\"\".\",,,,\"SELECT * FROM orderz\nWHERE id = 42;\",15,,\"psql\",\"client backend\",,0"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:47:01Z"
    fields = {
      application = "psql"
      backend_type = "client backend"
      client = "10.0.0.5"
      client_port = 52312
      command_tag = "SELECT"
      database = "shop"
      hint = "Perhaps you meant to reference the table \"public.orders\"."
      log_time = "2026-11-21 05:47:01.000 UTC"
      message = "relation \"orderz\" does not exist"
      pid = 12401
      query_pos = 15
      session_id = "6740a2a5.3071"
      session_line = 2
      session_start = "2026-11-21 05:46:59 UTC"
      severity = "ERROR"
      sql_state = "42P01"
      statement = "SELECT * FROM orderz\nWHERE id = 42;"
      user = "app"
      virtual_transaction_id = "3/43"
    }
  }
}

test "postgresql_csv_duration" {
  transform = transform.postgresql_csv
  input     = "2026-11-21 05:51:00.000 UTC,\"app\",\"shop\",12406,\"[local]\",6740a2e0.3076,5,\"SELECT\",2026-11-21 05:50:00 UTC,3/50,0,LOG,00000,\"duration: 1523.456 ms  statement: SELECT count(*) FROM orders;\",,,,,,,,,\"psql\",\"client backend\",,0"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:51:00Z"
    fields = {
      application = "psql"
      backend_type = "client backend"
      command_tag = "SELECT"
      database = "shop"
      duration_ms = 1523.456
      log_time = "2026-11-21 05:51:00.000 UTC"
      message = "duration: 1523.456 ms  statement: SELECT count(*) FROM orders;"
      pid = 12406
      session_id = "6740a2e0.3076"
      session_line = 5
      session_start = "2026-11-21 05:50:00 UTC"
      severity = "LOG"
      sql_state = "00000"
      user = "app"
      virtual_transaction_id = "3/50"
    }
  }
}

test "postgresql_csv_pg12" {
  transform = transform.postgresql_csv
  input     = "2026-11-21 05:41:35.123 UTC,,,12345,,6740a1ef.3039,1,,2026-11-21 05:41:34 UTC,,0,LOG,00000,\"database system is ready to accept connections\",,,,,,,,,\"\""

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:41:35.123Z"
    fields = {
      log_time = "2026-11-21 05:41:35.123 UTC"
      message = "database system is ready to accept connections"
      pid = 12345
      session_id = "6740a1ef.3039"
      session_line = 1
      session_start = "2026-11-21 05:41:34 UTC"
      severity = "LOG"
      sql_state = "00000"
    }
  }
}

# Malformed: an unclosed quote, too many columns.
test "postgresql_csv_unclosed" {
  transform = transform.postgresql_csv
  input     = "2026-11-21 05:41:35.123 UTC,,,12345,,6740a1ef.3039,1,,2026-11-21 05:41:34 UTC,,0,LOG,00000,\"ready"

  expect_dead_letter {
    reason = "no_match"
    step   = "parse.csv"
    error  = "parse error on line 1, column 98: extraneous or missing \" in"
  }
}

test "postgresql_csv_too_many" {
  transform = transform.postgresql_csv
  input     = "2026-11-21 05:41:35.123 UTC,,,12345,,6740a1ef.3039,1,,2026-11-21 05:41:34 UTC,,0,LOG,00000,\"ready\",,,,,,,,,\"\",postmaster,,0,extra,extra"

  expect_dead_letter {
    reason = "no_match"
    step   = "parse.csv"
    error  = "expected 23 to 26 columns, got 28"
  }
}


# jsonlog lines (PostgreSQL 15+; documentation, "Using JSON-Format Log
# Output", the keys of its table).
test "postgresql_json_ready" {
  transform = transform.postgresql_json
  input     = "{\"timestamp\":\"2026-11-21 05:41:35.123 UTC\",\"pid\":12345,\"session_id\":\"6740a1ef.3039\",\"line_num\":1,\"session_start\":\"2026-11-21 05:41:34 UTC\",\"txid\":0,\"error_severity\":\"LOG\",\"message\":\"database system is ready to accept connections\",\"backend_type\":\"postmaster\",\"query_id\":0}"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:41:35.123Z"
    fields = {
      backend_type = "postmaster"
      log_time = "2026-11-21 05:41:35.123 UTC"
      message = "database system is ready to accept connections"
      pid = 12345
      query_id = 0
      session_id = "6740a1ef.3039"
      session_line = 1
      session_start = "2026-11-21 05:41:34 UTC"
      severity = "LOG"
      transaction_id = 0
    }
  }
}

test "postgresql_json_unique" {
  transform = transform.postgresql_json
  input     = "{\"timestamp\":\"2026-11-21 05:47:00.250 UTC\",\"user\":\"app\",\"dbname\":\"shop\",\"pid\":12400,\"remote_host\":\"10.0.0.5\",\"remote_port\":52311,\"session_id\":\"6740a2a4.3070\",\"line_num\":3,\"ps\":\"INSERT\",\"session_start\":\"2026-11-21 05:46:59 UTC\",\"vxid\":\"3/42\",\"txid\":7340,\"error_severity\":\"ERROR\",\"state_code\":\"23505\",\"message\":\"duplicate key value violates unique constraint \\\"users_pkey\\\"\",\"detail\":\"Key (id)=(1) already exists.\",\"statement\":\"INSERT INTO users (id, name) VALUES (1, 'alice');\",\"func_name\":\"_bt_check_unique\",\"file_name\":\"nbtinsert.c\",\"file_line_num\":666,\"application_name\":\"psql\",\"backend_type\":\"client backend\",\"query_id\":-6123412341234123412}"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:47:00.25Z"
    fields = {
      application = "psql"
      backend_type = "client backend"
      client = "10.0.0.5"
      client_port = 52311
      command_tag = "INSERT"
      database = "shop"
      detail = "Key (id)=(1) already exists."
      location = "_bt_check_unique, nbtinsert.c:666"
      log_time = "2026-11-21 05:47:00.250 UTC"
      message = "duplicate key value violates unique constraint \"users_pkey\""
      pid = 12400
      query_id = -6123412341234123412
      session_id = "6740a2a4.3070"
      session_line = 3
      session_start = "2026-11-21 05:46:59 UTC"
      severity = "ERROR"
      sql_state = "23505"
      statement = "INSERT INTO users (id, name) VALUES (1, 'alice');"
      transaction_id = 7340
      user = "app"
      virtual_transaction_id = "3/42"
    }
  }
}

test "postgresql_json_duration" {
  transform = transform.postgresql_json
  input     = "{\"timestamp\":\"2026-11-21 05:51:00.000 UTC\",\"user\":\"app\",\"dbname\":\"shop\",\"pid\":12406,\"remote_host\":\"[local]\",\"session_id\":\"6740a2e0.3076\",\"line_num\":5,\"ps\":\"SELECT\",\"session_start\":\"2026-11-21 05:50:00 UTC\",\"vxid\":\"3/50\",\"txid\":0,\"error_severity\":\"LOG\",\"message\":\"duration: 1523.456 ms  statement: SELECT count(*) FROM orders;\",\"application_name\":\"psql\",\"backend_type\":\"client backend\",\"query_id\":0}"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:51:00Z"
    fields = {
      application = "psql"
      backend_type = "client backend"
      command_tag = "SELECT"
      database = "shop"
      duration_ms = 1523.456
      log_time = "2026-11-21 05:51:00.000 UTC"
      message = "duration: 1523.456 ms  statement: SELECT count(*) FROM orders;"
      pid = 12406
      query_id = 0
      session_id = "6740a2e0.3076"
      session_line = 5
      session_start = "2026-11-21 05:50:00 UTC"
      severity = "LOG"
      transaction_id = 0
      user = "app"
      virtual_transaction_id = "3/50"
    }
  }
}

test "postgresql_json_fatal" {
  transform = transform.postgresql_json
  input     = "{\"timestamp\":\"2026-11-21 05:50:00.000 UTC\",\"user\":\"app\",\"dbname\":\"shop\",\"pid\":12405,\"remote_host\":\"203.0.113.9\",\"remote_port\":40222,\"session_id\":\"6740a2c8.3075\",\"line_num\":1,\"ps\":\"authentication\",\"session_start\":\"2026-11-21 05:50:00 UTC\",\"vxid\":\"4/1\",\"txid\":0,\"error_severity\":\"FATAL\",\"state_code\":\"28P01\",\"message\":\"password authentication failed for user \\\"app\\\"\",\"detail\":\"Connection matched file \\\"/etc/postgresql/16/main/pg_hba.conf\\\" line 128: \\\"host all all 0.0.0.0/0 scram-sha-256\\\"\",\"backend_type\":\"client backend\",\"query_id\":0}"

  expect {
    kind = "postgresql_log"
    time = "2026-11-21T05:50:00Z"
    fields = {
      backend_type = "client backend"
      client = "203.0.113.9"
      client_port = 40222
      command_tag = "authentication"
      database = "shop"
      detail = "Connection matched file \"/etc/postgresql/16/main/pg_hba.conf\" line 128: \"host all all 0.0.0.0/0 scram-sha-256\""
      log_time = "2026-11-21 05:50:00.000 UTC"
      message = "password authentication failed for user \"app\""
      pid = 12405
      query_id = 0
      session_id = "6740a2c8.3075"
      session_line = 1
      session_start = "2026-11-21 05:50:00 UTC"
      severity = "FATAL"
      sql_state = "28P01"
      transaction_id = 0
      user = "app"
      virtual_transaction_id = "4/1"
    }
  }
}

# Malformed: not JSON, no severity.
test "postgresql_json_not_json" {
  transform = transform.postgresql_json
  input     = "2026-11-21 05:41:35.123 UTC [12345] LOG:  not json"

  expect_dead_letter {
    reason = "jq"
    step   = "jq"
    error  = "fromjson cannot be applied to: string (\"2026-11-21 05:41:35."
  }
}

test "postgresql_json_no_severity" {
  transform = transform.postgresql_json
  input     = "{\"timestamp\":\"2026-11-21 05:41:35.123 UTC\",\"pid\":1,\"message\":\"no severity\"}"

  expect_dead_letter {
    reason = "schema"
    step   = "schema"
    error  = "required, missing"
  }
}

